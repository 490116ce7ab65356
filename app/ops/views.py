"""Ops endpoints beside the API: /healthz (alive), /readyz (able to serve), /metrics (Prometheus); and the
request id and access log line of every request."""

from __future__ import annotations

import hmac
import logging
import re
import time
import uuid

from flask import Flask, Response, current_app, g, jsonify, request
from sqlalchemy import text

from ..errors import Unauthorized
from ..extensions import db
from . import metrics

access_log = logging.getLogger("tongban.access")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_heads: tuple[str, ...] | None = None


def migration_heads() -> tuple[str, ...]:
    """The head revision(s) of migrations/: read once per process."""
    global _heads
    if _heads is None:
        from alembic.script import ScriptDirectory
        from flask_migrate import Migrate  # noqa: F401  (the extension holds the directory)

        directory = current_app.extensions["migrate"].directory
        config = current_app.extensions["migrate"].migrate.get_config(directory)
        _heads = tuple(sorted(ScriptDirectory.from_config(config).get_heads()))
    return _heads


def readiness() -> tuple[bool, dict]:
    checks: dict = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # the answer is the report; the pool retries on the next request
        db.session.rollback()
        checks["database"] = f"unreachable: {type(exc).__name__}"
        return False, checks
    try:
        applied = tuple(sorted(r[0] for r in db.session.execute(text("SELECT version_num FROM alembic_version"))))
    except Exception:
        db.session.rollback()
        applied = ()
    heads = migration_heads()
    checks["migrations"] = "ok" if applied == heads else {"applied": list(applied), "head": list(heads)}
    if current_app.config.get("SCHEDULER_ENABLED"):
        scheduler = current_app.extensions.get("tongban_scheduler")
        checks["scheduler"] = "ok" if scheduler is not None and scheduler.running else "not running"
    else:
        checks["scheduler"] = "off"
    ready = checks["migrations"] == "ok" and checks["scheduler"] in ("ok", "off")
    return ready, checks


_SECRET_PARAMETERS = re.compile(r"(?i)\b(query_code)=[^&]*")  # a receipt's URL carries the applicant's code


def _logged_path() -> str:
    return _SECRET_PARAMETERS.sub(r"\1=***", request.full_path.rstrip("?"))


def register(app: Flask) -> None:
    @app.before_request
    def _request_id() -> None:
        given = request.headers.get("X-Request-ID", "")
        request.environ["tongban.request_id"] = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        g.tongban_t0 = time.perf_counter()

    @app.after_request
    def _after(response):
        response.headers["X-Request-ID"] = request.environ.get("tongban.request_id", "")
        metrics.observe(response)
        started = getattr(g, "tongban_t0", None)
        if request.path not in ("/metrics", "/healthz", "/readyz"):
            access_log.info("%s %s %s", request.method, _logged_path(), response.status_code,
                            extra={"method": request.method, "path": request.path, "status": response.status_code,
                                   "duration_ms": round((time.perf_counter() - started) * 1000, 1) if started else None,
                                   "remote": request.remote_addr})
        return response

    @app.get("/healthz")
    def healthz():
        """Alive: the process answers and reaches its database."""
        db.session.execute(text("SELECT 1"))
        return jsonify({"status": "ok", "database": db.engine.dialect.name})

    @app.get("/readyz")
    def readyz():
        """Ready to serve: database reachable, migrations at head, the timer scheduler running if enabled."""
        ready, checks = readiness()
        return jsonify({"status": "ready" if ready else "not ready", "checks": checks}), 200 if ready else 503

    @app.get("/metrics")
    def metrics_view():
        """Prometheus text format; TONGBAN_METRICS_TOKEN, when set, is required as a bearer token."""
        token = current_app.config.get("METRICS_TOKEN")
        if token:
            given = request.headers.get("Authorization", "").partition(" ")[2].strip()
            if not hmac.compare_digest(given.encode(), token.encode()):
                raise Unauthorized("需要监控令牌 (metrics token required)")
        return Response(metrics.render(), mimetype="text/plain; version=0.0.4; charset=utf-8")
