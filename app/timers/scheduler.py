"""APScheduler drives timer firing (a short-interval job on the indexed due-time table) and, more slowly, the
periodic jobs plugins declare (`scheduled_jobs`: AB岗 routing by date, the supervision sweep)."""

from __future__ import annotations

import logging
import threading

from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask

from ..extensions import db
from ..plugins import hooks
from . import service

log = logging.getLogger(__name__)


class _QuietTicks(logging.Filter):
    """A tick skipped while the last pass still drains (one instance per job, by design), or run late on a busy
    machine, is the scheduler doing its job: the next pass picks up. Anything else APScheduler says stays."""

    EXPECTED = ("maximum number of running instances", "was missed by")

    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)
        return not any(expected in message for expected in self.EXPECTED)


def start(app: Flask) -> BackgroundScheduler:
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # a tick twice a second is not news
    for name in ("apscheduler.scheduler", "apscheduler.executors.default"):
        quiet = logging.getLogger(name)
        if not any(isinstance(f, _QuietTicks) for f in quiet.filters):
            quiet.addFilter(_QuietTicks())
    scheduler = BackgroundScheduler(daemon=True, timezone="UTC")

    def job(name: str, work):
        """A periodic job in an app context that survives its own failures (the next pass tries again)."""

        def run() -> None:
            with app.app_context():
                try:
                    work()
                except Exception:
                    log.exception("%s failed", name)
                    db.session.rollback()
                finally:
                    db.session.remove()

        return run

    # Due BPMN timers, and the periodic work of plugins (AB岗 routing by date, the supervision sweep)
    jobs = [("fire_due_timers", service.drain_due, app.config["SCHEDULER_INTERVAL_SECONDS"])]
    for found in hooks(app).scheduled_jobs(app=app):
        jobs.extend(found)
    for name, work, seconds in jobs:
        scheduler.add_job(job(name, work), "interval", seconds=seconds, id=name, max_instances=1, coalesce=True)
    scheduler.start()
    # At a worker's exit the interpreter shuts thread pools down before atexit handlers run; the scheduler stops
    # first, so it never hands a job to a pool that is gone (an error in the log at every restart otherwise).
    before_pools_close = getattr(threading, "_register_atexit", None)
    if before_pools_close is not None:
        before_pools_close(lambda: scheduler.shutdown(wait=False) if scheduler.running else None)
    app.extensions["tongban_scheduler"] = scheduler
    log.info("timer scheduler started")
    return scheduler
