"""The calendar as a plugin of the runtime: engine timers that count working days count Chinese working days."""

from __future__ import annotations

from datetime import datetime, time

from flask import current_app

from ..clock import SHANGHAI
from ..hookspecs import hookimpl
from . import service


def office_close() -> time | None:
    """When the hall closes (TONGBAN_OFFICE_CLOSE, Asia/Shanghai); None: a limit falls due at the hour it began."""
    text = (current_app.config.get("OFFICE_CLOSE") or "").strip()
    if not text:
        return None
    try:
        return time.fromisoformat(text)
    except ValueError:
        raise ValueError(f"TONGBAN_OFFICE_CLOSE must be HH:MM, not {text!r}") from None


@hookimpl
def working_days(start: datetime, days: int) -> datetime:
    """Chinese working days (app/calendar), due at the office's close on the last of them: a limit of two
    working days set on Friday, at whatever hour, is due on Tuesday when the hall closes."""
    local = start.astimezone(SHANGHAI)
    day = service.workday_calendar().add_working_days(local.date(), days).date
    close = office_close()
    moment = datetime.combine(day, close, SHANGHAI) if close is not None else datetime.combine(day, local.timetz())
    return moment.astimezone(start.tzinfo)
