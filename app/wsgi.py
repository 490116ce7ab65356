"""The served application (gunicorn `app.wsgi:application`): the app plus its timer scheduler.

Every worker process runs a scheduler; on PostgreSQL they share the due timers through row locks.
"""

from . import create_app, gc_tuning
from .timers import scheduler

application = create_app()
gc_tuning.tune(freeze=True)  # what the app has built lives as long as the worker
if application.config["SCHEDULER_ENABLED"]:
    scheduler.start(application)
