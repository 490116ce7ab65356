"""APScheduler drives timer firing: a short-interval job that asks the indexed due-time table."""

from __future__ import annotations

import logging

from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask

from ..extensions import db
from . import service

log = logging.getLogger(__name__)


def start(app: Flask) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(daemon=True, timezone="UTC")

    def tick() -> None:
        with app.app_context():
            try:
                service.fire_due()
            finally:
                db.session.remove()

    scheduler.add_job(tick, "interval", seconds=app.config["SCHEDULER_INTERVAL_SECONDS"], id="fire_due_timers",
                      max_instances=1, coalesce=True)
    scheduler.start()
    app.extensions["tongban_scheduler"] = scheduler
    log.info("timer scheduler started")
    return scheduler
