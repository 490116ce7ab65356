"""Configuration from environment variables (see README.md, "Configuration"): the one place that reads them, once,
when the app is made (`from_environment`), parsed into types and checked — a value that makes no sense stops the
start-up with its name, never a request. Modules read `current_app.config`."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if not url:
        (ROOT / "instance").mkdir(exist_ok=True)
        return f"sqlite:///{ROOT / 'instance' / 'tongban.db'}"
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def _numbers(name: str, default: tuple[float, ...]) -> tuple[float, ...]:
    text = os.environ.get(name)
    if not text:
        return default
    try:
        values = tuple(float(part) for part in text.split(","))
    except ValueError:
        values = ()
    if len(values) != len(default):
        raise ValueError(f"{name} must be {len(default)} comma-separated numbers, not {text!r}")
    return values


def _flag(name: str, default: str = "") -> bool:
    return os.environ.get(name, default).strip().lower() in ("1", "true", "yes", "on")


def from_environment() -> dict:
    return {
        "LOG_LEVEL": os.environ.get("TONGBAN_LOG_LEVEL", "INFO"),
        "LOG_FORMAT": os.environ.get("TONGBAN_LOG_FORMAT", "json"),
        "SPIFF_LOG_LEVEL": os.environ.get("TONGBAN_SPIFF_LOG_LEVEL", "WARNING"),
        # the web workbench: its sessions' key (else instance/secret_key), cookies, and the demo password
        "TONGBAN_SECRET_KEY": os.environ.get("TONGBAN_SECRET_KEY") or None,
        "SESSION_SAMESITE": os.environ.get("TONGBAN_SESSION_SAMESITE", "Lax"),
        "SECURE_COOKIES": _flag("TONGBAN_SECURE_COOKIES"),
        "SESSION_HOURS": float(os.environ.get("TONGBAN_SESSION_HOURS", "12")),
        "DEMO_PASSWORD": os.environ.get("TONGBAN_DEMO_PASSWORD") or None,
        "CJK_FONT": os.environ.get("TONGBAN_CJK_FONT") or None,  # notices' font file (path[:index]); else found
        "PROMETHEUS_MULTIPROC_DIR": os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None,
        # statistics: grades (优秀, 良好, 合格 minimum on-time rates), merge candidates, the speed-up goal
        "STATISTICS_GRADE_THRESHOLDS": _numbers("TONGBAN_GRADE_THRESHOLDS", (98.0, 95.0, 90.0)),
        "STATISTICS_MERGE_BELOW": _numbers("TONGBAN_MERGE_BELOW", (2.0,))[0],
        "STATISTICS_SPEED_UP_GOAL": _numbers("TONGBAN_SPEED_UP_GOAL", (30.0,))[0],
        "STATISTICS_MIN_GRADED_CASES": int(_numbers("TONGBAN_MIN_GRADED_CASES", (10.0,))[0]),
        "SQLALCHEMY_DATABASE_URI": _database_url(),
        # a server's connections are checked before use (they outlive a PostgreSQL restart); an embedded file
        # cannot go away, so SQLite skips the check's round trip at every checkout
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": not _database_url().startswith("sqlite")},
        "MAX_CONTENT_LENGTH": int(os.environ.get("TONGBAN_MAX_UPLOAD_BYTES", 5 * 1024 * 1024)),
        "PROCESSES_DIR": os.environ.get("TONGBAN_PROCESSES_DIR", str(ROOT / "processes")),
        "FORMS_DIR": os.environ.get("TONGBAN_FORMS_DIR", str(ROOT / "forms")),
        "SCHEDULER_ENABLED": os.environ.get("TONGBAN_SCHEDULER", "on") != "off",
        # the trial's replay only (tools/simulate): the clock read from this file; unset (the default): real time
        "CLOCK_FILE": os.environ.get("TONGBAN_CLOCK_FILE") or None,
        "SCHEDULER_INTERVAL_SECONDS": float(os.environ.get("TONGBAN_TIMER_POLL_SECONDS", "0.5")),
        "ABSENCE_INTERVAL_SECONDS": float(os.environ.get("TONGBAN_ABSENCE_POLL_SECONDS", "60")),
        "POST_TALLY_INTERVAL_SECONDS": float(os.environ.get("TONGBAN_POST_TALLY_FOLD_SECONDS", "60")),
        "METRICS_TOKEN": os.environ.get("TONGBAN_METRICS_TOKEN") or None,
        "WORKFLOW_CACHE_SIZE": int(os.environ.get("TONGBAN_WORKFLOW_CACHE", "2000")),
        "TOKEN_TTL_DAYS": float(os.environ.get("TONGBAN_TOKEN_TTL_DAYS", "90")),  # 0: tokens do not expire
        # how long a request waits for a case another writer holds (PostgreSQL) before answering 409 busy
        "LOCK_TIMEOUT_MS": int(os.environ.get("TONGBAN_LOCK_TIMEOUT_MS", "3000")),
        # SQLite: FULL syncs the WAL at every commit, so an acknowledged write survives a power loss (README)
        "SQLITE_SYNCHRONOUS": os.environ.get("TONGBAN_SQLITE_SYNCHRONOUS", "FULL").upper(),
        # the script sandbox (app/engine/sandbox.py): per evaluation, and worker processes per server process
        "SCRIPT_TIMEOUT_SECONDS": float(os.environ.get("TONGBAN_SCRIPT_TIMEOUT", "2")),
        "SCRIPT_MEMORY_MB": int(os.environ.get("TONGBAN_SCRIPT_MEMORY_MB", "256")),
        "SCRIPT_WORKERS": int(os.environ.get("TONGBAN_SCRIPT_WORKERS", "2")),
        # the engine's limits per run and per case (app/engine/budget.py, app/instances/limits.py)
        "ENGINE_MAX_STEPS": int(os.environ.get("TONGBAN_ENGINE_MAX_STEPS", "10000")),
        "ENGINE_MAX_SECONDS": float(os.environ.get("TONGBAN_ENGINE_MAX_SECONDS", "10")),
        "ENGINE_MAX_CALL_DEPTH": int(os.environ.get("TONGBAN_ENGINE_MAX_CALL_DEPTH", "16")),
        "ENGINE_MAX_BRANCHES": int(os.environ.get("TONGBAN_ENGINE_MAX_BRANCHES", "1000")),
        "ENGINE_MAX_INSTANCES": int(os.environ.get("TONGBAN_ENGINE_MAX_INSTANCES", "500")),
        "CASE_MAX_STATE_BYTES": int(float(os.environ.get("TONGBAN_CASE_MAX_STATE_MB", "4")) * 1024 * 1024),
        # the case clock and electronic supervision (app/supervision)
        "GREEN_CHANNEL_RATIO": float(os.environ.get("TONGBAN_GREEN_CHANNEL_RATIO", "0.5")),
        "YELLOW_DAYS": int(os.environ.get("TONGBAN_YELLOW_DAYS", "1")),
        # working-day timers fall due at the hall's office close (Asia/Shanghai, HH:MM); empty: the time they began
        "OFFICE_CLOSE": os.environ.get("TONGBAN_OFFICE_CLOSE", "17:00"),
        "YELLOW_RATIO": float(os.environ.get("TONGBAN_YELLOW_RATIO", "0.2")),
        "SUPERVISION_INTERVAL_SECONDS": float(os.environ.get("TONGBAN_SUPERVISION_POLL_SECONDS", "60")),
        # matter records changed to take effect on a later date become the catalog's record (app/hall/plugin.py)
        "MATTER_VERSIONS_INTERVAL_SECONDS": float(os.environ.get("TONGBAN_MATTER_VERSIONS_POLL_SECONDS", "300")),
        "API_TITLE": "Tongban 通办 API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api",
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "/docs",
        "OPENAPI_SWAGGER_UI_URL": "/api/docs-assets/",  # served from the flask-swagger-ui package: works offline
        "JSON_AS_ASCII": False,
    }
