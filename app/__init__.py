"""Tongban 通办: BPMN-driven case handling for an administrative service center."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app, has_request_context, request, send_from_directory
from sqlalchemy import event

from . import validation_messages

validation_messages.install()  # before any schema is built: fields copy their messages when they are made

from . import config  # noqa: E402
from .api.openapi import TongbanApi  # noqa: E402
from .errors import register_error_handlers  # noqa: E402
from .extensions import db, migrate  # noqa: E402


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    app.json.ensure_ascii = False
    app.config.update(config.from_environment())
    if test_config:
        app.config.update(test_config)
    from .ops import logs
    logs.configure(app.config["LOG_LEVEL"], app.config["LOG_FORMAT"], app.config["SPIFF_LOG_LEVEL"])
    if app.config.get("CLOCK_FILE") and not app.config.get("CLOCK"):
        from .clock import FileClock

        app.config["CLOCK"] = FileClock(app.config["CLOCK_FILE"])
        app.logger.warning("the clock is read from %s (TONGBAN_CLOCK_FILE: a replay's clock, never production)",
                           app.config["CLOCK_FILE"])

    db.init_app(app)
    migrate.init_app(app, db, directory=str(config.ROOT / "migrations"))
    api = TongbanApi(app)
    with app.app_context():
        _tune_sqlite()
    register_error_handlers(app)
    from .instances.limits import register as register_limits
    register_limits(app)  # a case failure that reaches a view unconverted is a 422
    _load_models()
    _register_blueprints(api)
    from .ops.views import register as register_ops
    register_ops(app)  # /healthz, /readyz, /metrics, request ids and the access log
    _register_docs_assets(app)
    # -- the web workbench (app/web): pages, sign-in with sessions and CSRF; the API is unchanged ----------------
    from .web import register as register_web
    register_web(app)
    # -- end of the web workbench -----------------------------------------------------------------------------

    _install_plugins(app)

    from .cli import register as register_cli
    register_cli(app)
    return app


def _install_plugins(app: Flask) -> None:
    """The runtime's plugins, in the order their hooks are called (app/hookspecs.py declares the hooks)."""
    from . import plugins
    from .calendar import plugin as calendar
    from .errors import CONFLICTS
    from .hall import plugin as hall
    from .instances import plugin as instances
    from .matters import plugin as matters
    from .messages import plugin as messages
    from .people import plugin as people

    manager = plugins.install(app, [
        ("calendar", calendar),  # working days for the engine's working-day timers
        ("instances", instances),  # new versions' timer start events
        ("messages", messages),  # what cases throw reaches other cases
        ("people", people),  # whose department a case is; AB岗 routing of new tasks; posts named by diagrams
        ("matters", matters),  # matter records deployed beside their diagrams
        ("hall", hall),  # the hall wing: intake, the case clock and supervision, 联办, notices
    ])
    app.extensions[CONFLICTS] = {name: (code, message, columns)
                                 for found in manager.hook.constraint_conflicts()
                                 for name, code, message, columns in found}


def _load_models() -> None:
    """Every table in the metadata, whether or not a view imports its module (migrations, test clean-up)."""
    from . import serials as _serials  # noqa: F401
    from .hall import models as _hall  # noqa: F401
    from .hall.attachments import models as _attachments  # noqa: F401
    from .hall.documents import models as _documents  # noqa: F401
    from .hall.supervision import models as _supervision  # noqa: F401
    from .instances import external_models as _external  # noqa: F401
    from .messages import models as _messages  # noqa: F401


def _register_blueprints(api: TongbanApi) -> None:
    from .api.attachments import blp as attachments
    from .api.calendar import blp as calendar
    from .api.cases import blp as cases
    from .api.definitions import blp as definitions
    from .api.documents import blp as documents
    from .api.external import blp as external_tasks
    from .api.forms import blp as forms
    from .api.incidents import blp as incidents
    from .api.instances import blp as instances
    from .api.matters import blp as matters
    from .api.messages import blp as messages
    from .api.messages import signals
    from .api.modification import blp as instance_modification
    from .api.people import blp as people
    from .api.statistics import blp as statistics
    from .api.supervision import blp as supervision
    from .api.tasks import blp as tasks
    from .api.timers import blp as timers

    for blueprint in (definitions, instances, tasks, messages, signals, timers, forms, people, matters, calendar,
                      statistics, supervision, incidents, documents, cases, attachments, external_tasks,
                      instance_modification):
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
