"""Attachments (scanned materials, files) and comments (审查意见) on cases and their tasks."""
