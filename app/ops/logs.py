"""Structured logs: one JSON object per line with the time in Asia/Shanghai (ISO 8601, +08:00, the zone the API
shows), level, logger, message, and the request id, user and case id where known.

TONGBAN_LOG_FORMAT=text gives plain lines (for a developer's terminal); TONGBAN_SPIFF_LOG_LEVEL (default
WARNING) keeps SpiffWorkflow's per-task chatter ("State changed to READY") out unless asked for.
"""

from __future__ import annotations

import logging
import sys
from datetime import datetime

from flask import has_request_context, request
from pythonjsonlogger.json import JsonFormatter

from ..clock import SHANGHAI

SPIFF_LOGGERS = ("spiff", "spiff.task", "spiff.workflow", "spiff.data", "spiff.dmn", "spiff.metrics")
FIELDS = ("request_id", "user", "case_id")


class ContextFilter(logging.Filter):
    """Adds the time in one zone and what the request knows: request id, user, case id (an explicit `extra`
    wins, so the scheduler can name the case it works on)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.time = datetime.fromtimestamp(record.created, SHANGHAI).isoformat(timespec="milliseconds")
        if has_request_context():
            environ = request.environ
            if getattr(record, "request_id", None) is None:
                record.request_id = environ.get("tongban.request_id")
            if getattr(record, "user", None) is None:
                user = environ.get("tongban.user")
                record.user = getattr(user, "username", None)
            if getattr(record, "case_id", None) is None:
                record.case_id = (request.view_args or {}).get("instance_id") or environ.get("tongban.case_id")
        for name in FIELDS:
            if not hasattr(record, name):
                setattr(record, name, None)
        return True


def json_formatter() -> JsonFormatter:
    """The JSON line format (also gunicorn's own log, through tools/gunicorn-logging.json)."""
    return JsonFormatter("%(time)s %(levelname)s %(name)s %(message)s %(request_id)s %(user)s %(case_id)s",
                         rename_fields={"levelname": "level", "name": "logger"}, json_ensure_ascii=False)


def configure(level: str = "INFO", fmt: str = "json", spiff_level: str = "WARNING") -> None:
    """Install one handler on the root logger (once per process: create_app may run more than once)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_tongban", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler._tongban = True  # type: ignore[attr-defined]
    handler.addFilter(ContextFilter())
    if fmt == "text":
        handler.setFormatter(logging.Formatter("%(time)s %(levelname)s %(name)s [%(request_id)s %(user)s "
                                               "%(case_id)s] %(message)s"))
    else:
        handler.setFormatter(json_formatter())
    root.addHandler(handler)
    root.setLevel(level)
    for name in SPIFF_LOGGERS:
        logging.getLogger(name).setLevel(spiff_level)
