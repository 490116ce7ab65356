"""The service's clock: UTC now, replaceable in tests (app.config["CLOCK"]) so they move time instead of sleeping."""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import current_app

SHANGHAI = ZoneInfo("Asia/Shanghai")


def system_now() -> datetime:
    return datetime.now(UTC)


def now() -> datetime:
    clock = current_app.config.get("CLOCK") if current_app else None
    return (clock or system_now)()


class FileClock:
    """A clock read from a file holding one ISO 8601 time (`TONGBAN_CLOCK_FILE`): how the trial's replay
    (tools/simulate) moves the clock of server processes it started itself, all of them at once. Off unless that
    variable is set — never in production; there is no endpoint that sets a clock. The file is read again when it
    changes (one stat per call); a missing or unreadable file is an error, never the system time."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._seen: tuple | None = None
        self._value: datetime | None = None
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        stat = os.stat(self.path)
        key = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        if key != self._seen:
            with self._lock:
                with open(self.path, encoding="utf-8") as handle:
                    value = datetime.fromisoformat(handle.read().strip())
                self._value = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
                self._seen = key
        return self._value

    @staticmethod
    def write(path: str, at: datetime) -> None:
        """Set the time (atomically: a reader sees the old time or the new one)."""
        partial = f"{path}.{os.getpid()}.tmp"
        with open(partial, "w", encoding="utf-8") as handle:
            handle.write(at.astimezone(UTC).isoformat())
        os.replace(partial, path)


def app_clock(app):
    """A clock bound to one app, usable outside a request (scheduler threads, cached cases)."""
    return lambda: (app.config.get("CLOCK") or system_now)()


def as_utc(value: datetime | None) -> datetime | None:
    """Databases hand back naive datetimes (SQLite): they are UTC by our storage rule."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def local_iso(value: datetime | None) -> str | None:
    """A stored UTC time shown in Asia/Shanghai."""
    value = as_utc(value)
    return value.astimezone(SHANGHAI).isoformat() if value else None
