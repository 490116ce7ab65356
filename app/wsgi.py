"""The served application (gunicorn `app.wsgi:application`): the app plus its timer scheduler.

Every worker process runs a scheduler; on PostgreSQL they share the due timers through row locks.
"""

from . import create_app
from .timers import scheduler

application = create_app()
if application.config["SCHEDULER_ENABLED"]:
    scheduler.start(application)
