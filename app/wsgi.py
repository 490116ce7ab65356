"""The served application (gunicorn `app.wsgi:application`): the app plus its timer scheduler.

Every worker process runs a scheduler; on PostgreSQL they share the due timers through row locks. A `flask` command
that loads this module (`flask --app app.wsgi db upgrade`) is not a server: it gets the app without the scheduler, whose
jobs would otherwise take row locks that a migration's DDL then waits on.
"""

import os

from . import create_app, gc_tuning
from .timers import scheduler

application = create_app()
gc_tuning.tune(freeze=True)  # what the app has built lives as long as the worker
_FLASK_COMMAND = os.environ.get("FLASK_RUN_FROM_CLI") == "true"  # set by flask's CLI before it loads an app
if application.config["SCHEDULER_ENABLED"] and not _FLASK_COMMAND:
    scheduler.start(application)
