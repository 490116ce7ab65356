"""gunicorn hooks used by tools/serve (`-c tools/gunicorn_conf.py`; the command line sets everything else)."""

from __future__ import annotations

import os


def child_exit(server, worker) -> None:
    """prometheus-client's multiprocess mode: a dead worker's live gauges are dropped, its counters kept."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
