"""Moments as diagrams and their data give them (timers, a task's camunda:dueDate): ISO 8601 text, read as China
Standard Time when it has no offset, kept in UTC, and only within the years every time zone can show."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

LOCAL_TZ = timezone(timedelta(hours=8))  # a time written without offset is China Standard Time
# when a timer may fall due: far enough from datetime's ends that every time zone can show it (year 9999 cannot)
EARLIEST_DUE = datetime(1900, 1, 1, tzinfo=UTC)
LATEST_DUE = datetime(9000, 12, 31, tzinfo=UTC)


def as_utc(value: str | datetime) -> datetime:
    """An ISO 8601 date-time (or a datetime) in UTC; one without offset is China Standard Time. ValueError for
    text that is no date-time."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=LOCAL_TZ)
    return value.astimezone(UTC)


def in_range(due: datetime) -> datetime:
    """A due time the service can store and show; ValueError for one before 1900 or after 9000."""
    if not EARLIEST_DUE <= due <= LATEST_DUE:
        raise ValueError(f"due {due.isoformat()} is outside {EARLIEST_DUE.year}–{LATEST_DUE.year}")
    return due
