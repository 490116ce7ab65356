"""The replay's own working-day arithmetic, straight from chinese_calendar (2004–2026) — not the app's calendar —
so the ledger's due dates and verdicts are counted apart from what they are checked against. Years chinese_calendar
does not know count Monday to Friday (the app's fallback also moves the statutory holidays: the replay says so)."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import chinese_calendar

ONE_DAY = dt.timedelta(days=1)


@lru_cache(maxsize=8192)
def is_workday(day: dt.date) -> bool:
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        return day.weekday() < 5


def known(day: dt.date) -> bool:
    """Whether chinese_calendar publishes this day's year."""
    try:
        chinese_calendar.is_workday(day)
        return True
    except NotImplementedError:
        return False


@lru_cache(maxsize=65536)
def add(start: dt.date, days: int) -> dt.date:
    """The `days`-th working day strictly after `start` (Art. 82: counting starts the next day); 0 gives `start`
    when it is a working day, else the next one."""
    if days == 0:
        day = start
        while not is_workday(day):
            day += ONE_DAY
        return day
    day = start
    while days:
        day += ONE_DAY
        if is_workday(day):
            days -= 1
    return day


@lru_cache(maxsize=65536)
def between(start: dt.date, end: dt.date) -> int:
    """Working days in (start, end]; 0 when end <= start."""
    count, day = 0, start
    while day < end:
        day += ONE_DAY
        count += is_workday(day)
    return count


def working_days(start: dt.date, end: dt.date) -> list[dt.date]:
    """The working days in [start, end]."""
    days, day = [], start
    while day <= end:
        if is_workday(day):
            days.append(day)
        day += ONE_DAY
    return days


def next_workday(day: dt.date) -> dt.date:
    return add(day, 1)
