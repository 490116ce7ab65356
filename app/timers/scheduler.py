"""APScheduler drives timer firing (a short-interval job on the indexed due-time table) and, more slowly,
the routing of tasks by absences and the supervision sweep (lights and warnings)."""

from __future__ import annotations

import logging

from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask

from ..extensions import db
from . import service

log = logging.getLogger(__name__)


def start(app: Flask) -> BackgroundScheduler:
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # a tick twice a second is not news
    scheduler = BackgroundScheduler(daemon=True, timezone="UTC")

    def tick() -> None:
        with app.app_context():
            try:
                service.fire_due()
            finally:
                db.session.remove()

    def route_by_absences() -> None:
        """Absences begin and end with the date: bring task routing in line (people.service.apply_absences)."""
        from ..people import service as people

        with app.app_context():
            try:
                people.apply_absences()
            except Exception:  # keep the scheduler alive; the next pass tries again
                log.exception("applying absences failed")
                db.session.rollback()
            finally:
                db.session.remove()

    def supervise() -> None:
        """Lights change with the time: the supervision sweep (supervision.service.sweep)."""
        from ..supervision import service as supervision

        with app.app_context():
            try:
                supervision.sweep()
            except Exception:  # keep the scheduler alive; the next pass tries again
                log.exception("supervision sweep failed")
                db.session.rollback()
            finally:
                db.session.remove()

    scheduler.add_job(tick, "interval", seconds=app.config["SCHEDULER_INTERVAL_SECONDS"], id="fire_due_timers",
                      max_instances=1, coalesce=True)
    scheduler.add_job(route_by_absences, "interval", seconds=app.config.get("ABSENCE_INTERVAL_SECONDS", 60),
                      id="apply_absences", max_instances=1, coalesce=True)
    scheduler.add_job(supervise, "interval", seconds=app.config.get("SUPERVISION_INTERVAL_SECONDS", 60),
                      id="supervision_sweep", max_instances=1, coalesce=True)
    scheduler.start()
    app.extensions["tongban_scheduler"] = scheduler
    log.info("timer scheduler started")
    return scheduler
