"""Statistics for the center's reports (统计): per window, department, matter and the whole center; versions compared."""
