"""The hall wing (行政服务中心): the center's practice as a plugin of the runtime — its vocabulary (what diagrams
declare), intake, the case clock and supervision, notices and statistics. `plugin.py` is what the runtime calls."""
