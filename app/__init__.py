"""Tongban 通办: BPMN-driven case handling for an administrative service center."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, current_app, has_request_context, request, send_from_directory
from sqlalchemy import event

from . import validation_messages

validation_messages.install()  # before any schema is built: fields copy their messages when they are made

from . import config  # noqa: E402
from .errors import register_error_handlers  # noqa: E402
from .extensions import TongbanApi, db, migrate  # noqa: E402


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    app.json.ensure_ascii = False
    app.config.update(config.from_environment())
    if test_config:
        app.config.update(test_config)
    from .ops import logs
    logs.configure(os.environ.get("TONGBAN_LOG_LEVEL", "INFO"), os.environ.get("TONGBAN_LOG_FORMAT", "json"),
                   os.environ.get("TONGBAN_SPIFF_LOG_LEVEL", "WARNING"))

    db.init_app(app)
    migrate.init_app(app, db, directory=str(config.ROOT / "migrations"))
    api = TongbanApi(app)
    with app.app_context():
        _tune_sqlite()
    register_error_handlers(app)
    _load_models()
    _register_blueprints(api)
    from .ops.views import register as register_ops
    register_ops(app)  # /healthz, /readyz, /metrics, request ids and the access log
    _register_docs_assets(app)
    # -- the web workbench (app/web): pages, sign-in with sessions and CSRF; the API is unchanged ----------------
    from .web import register as register_web
    register_web(app)
    # -- end of the web workbench -----------------------------------------------------------------------------

    from . import hall
    hall.init_app(app)  # the hall as a plugin: its hooks on every saved step

    from .cli import register as register_cli
    register_cli(app)
    _register_hall()  # last: after the hall's own hooks, so a new case knows its matter when it gets a number
    return app


def _load_models() -> None:
    """Every table in the metadata, whether or not a view imports its module (migrations, test clean-up)."""
    from . import serials as _serials  # noqa: F401
    from .documents import models as _documents  # noqa: F401
    from .supervision import models as _supervision  # noqa: F401


def _register_hall() -> None:
    """Intake (case numbers, applicants, the materials checklist) and notices: step hooks on the runtime;
    the correlation keys of waiting messages (messages/correlation.py)."""
    from .documents import service as documents
    from .hall import intake
    from .messages import correlation

    correlation.register()

    intake.register()
    documents.register()


def _register_blueprints(api: TongbanApi) -> None:
    from .calendar.views import blp as calendar
    from .definitions.views import blp as definitions
    from .documents.views import blp as documents
    from .forms.views import blp as forms
    from .incidents.views import blp as incidents
    from .instances.views import blp as instances
    from .matters.views import blp as matters
    from .messages.views import blp as messages
    from .messages.views import signals
    from .people.views import blp as people
    from .statistics.views import blp as statistics
    from .supervision.views import blp as supervision
    from .tasks.views import blp as tasks
    from .timers.views import blp as timers

    for blueprint in (definitions, instances, tasks, messages, signals, timers, forms, people, matters, calendar,
                      statistics, supervision, incidents, documents):
        api.register_blueprint(blueprint)


_SYNCHRONOUS = ("FULL", "EXTRA", "NORMAL")


def _tune_sqlite() -> None:
    """WAL and a busy timeout let readers and one writer share the embedded database.

    Writing requests (and the scheduler) take SQLite's write lock when their transaction begins, so that
    writers queue instead of failing on a stale snapshot; GET requests read without it.

    `synchronous=FULL` (the default, SQLITE_SYNCHRONOUS): every commit syncs the WAL before it returns, so a
    write the API has acknowledged survives a power loss or an OS crash, not only a crash of the server
    process (NORMAL's guarantee: with NORMAL the last commits before a power cut may roll back).
    """
    if db.engine.dialect.name != "sqlite":
        return
    synchronous = current_app.config.get("SQLITE_SYNCHRONOUS", "FULL")
    if synchronous not in _SYNCHRONOUS:
        raise ValueError(f"TONGBAN_SQLITE_SYNCHRONOUS must be one of {', '.join(_SYNCHRONOUS)}, not {synchronous!r}")

    @event.listens_for(db.engine, "begin")
    def _begin(connection):
        reading = has_request_context() and request.method in ("GET", "HEAD", "OPTIONS")
        connection.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")

    @event.listens_for(db.engine, "connect")
    def _pragmas(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # transactions are begun by the hook above
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()


def _register_docs_assets(app: Flask) -> None:
    """Swagger UI's scripts come from an installed package, not a CDN: the hall's network may be closed."""
    import flask_swagger_ui

    assets = Path(flask_swagger_ui.__file__).parent / "dist"

    @app.get("/api/docs-assets/<path:filename>")
    def docs_assets(filename: str):
        return send_from_directory(assets, filename, max_age=86400)
