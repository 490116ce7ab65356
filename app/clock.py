"""The service's clock: UTC now, replaceable in tests (app.config["CLOCK"]) so they move time instead of sleeping."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import current_app

SHANGHAI = ZoneInfo("Asia/Shanghai")


def system_now() -> datetime:
    return datetime.now(UTC)


def now() -> datetime:
    clock = current_app.config.get("CLOCK") if current_app else None
    return (clock or system_now)()


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
