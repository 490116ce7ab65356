"""The runtime's own answers: a new version whose process starts on a timer gets its waiting case; a calendar
change moves the working-day timers it touches."""

from __future__ import annotations

from datetime import datetime

from ..hookspecs import hookimpl
from . import reschedule, service


@hookimpl
def definitions_deployed(deployed: list) -> None:
    service.arm_timer_starts(deployed)


@hookimpl
def calendar_changed(days: list, actor: str | None, at: datetime) -> None:
    reschedule.after_calendar_change(days, actor)
