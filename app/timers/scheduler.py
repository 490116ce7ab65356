"""APScheduler drives timer firing (a short-interval job on the indexed due-time table) and, more slowly,
the routing of tasks by absences and the supervision sweep (lights and warnings)."""

from __future__ import annotations

import logging
import threading

from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask

from ..extensions import db
from . import service

log = logging.getLogger(__name__)


def start(app: Flask) -> BackgroundScheduler:
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # a tick twice a second is not news
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

    from ..people import absences as people
    from ..supervision import service as supervision

    # Due BPMN timers; absences begin and end with the date (AB岗 routing); lights change with the time.
    jobs = [("fire_due_timers", service.fire_due, app.config["SCHEDULER_INTERVAL_SECONDS"]),
            ("apply_absences", people.apply_absences, app.config.get("ABSENCE_INTERVAL_SECONDS", 60)),
            ("supervision_sweep", supervision.sweep, app.config.get("SUPERVISION_INTERVAL_SECONDS", 60))]
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
