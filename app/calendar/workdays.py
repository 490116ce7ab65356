"""Chinese working-day calendar (工作日历) for time limits counted in working days.

Art. 82 of 行政许可法 counts time limits in working days, excluding statutory holidays.
A day is decided by, in order of priority:

1. an administrator's override (``overrides``), or, for a year listed in
   ``complete_years``, the overrides alone (every other day of that year is an
   ordinary weekday/weekend day);
2. the ``chinese_calendar`` package, for the years it knows (2004-2026 in 1.11.0);
3. a fallback rule for any other year: weekends, the statutory holidays of the
   全国年节及纪念日放假办法 as revised in 2024 (in force since 2025), and 补假 (a
   holiday falling on a weekend gives the next free weekday off).  No 调休: the
   fallback never turns a weekend into a working day.  Answers that depend on the
   fallback are provisional and are reported as such.
"""

from __future__ import annotations

import datetime as dt
import functools
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import chinese_calendar
from borax.calendars.lunardate import LunarDate

__all__ = [
    "SOURCE_CHINESE_CALENDAR",
    "SOURCE_FALLBACK",
    "SOURCE_OVERRIDE",
    "DayInfo",
    "WorkdayCalendar",
    "WorkdayResult",
    "fallback_holidays",
]

SOURCE_OVERRIDE = "override"
SOURCE_CHINESE_CALENDAR = "chinese_calendar"
SOURCE_FALLBACK = "fallback"

HOLIDAY = "holiday"
WORKDAY = "workday"

_ONE_DAY = dt.timedelta(days=1)

# Holiday names, in Chinese, as chinese_calendar spells them.
_NAMES = {h.value: h.chinese for h in chinese_calendar.Holiday}
_NEW_YEAR = chinese_calendar.Holiday.new_years_day.chinese  # 元旦
_SPRING = chinese_calendar.Holiday.spring_festival.chinese  # 春节
_QINGMING = chinese_calendar.Holiday.tomb_sweeping_day.chinese  # 清明
_LABOUR = chinese_calendar.Holiday.labour_day.chinese  # 劳动节
_DRAGON_BOAT = chinese_calendar.Holiday.dragon_boat_festival.chinese  # 端午
_MID_AUTUMN = chinese_calendar.Holiday.mid_autumn_festival.chinese  # 中秋
_NATIONAL = chinese_calendar.Holiday.national_day.chinese  # 国庆节


def _index_by_year(
    days: Mapping[dt.date, str], workday: bool
) -> dict[int, dict[dt.date, tuple[bool, str | None]]]:
    out: dict[int, dict[dt.date, tuple[bool, str | None]]] = {}
    for d, value in days.items():
        out.setdefault(d.year, {})[d] = (workday, _NAMES.get(value, value))
    return out


# chinese_calendar's own tables, read once; reading them directly (instead of calling
# chinese_calendar.is_workday) is faster and can never raise NotImplementedError.
_CC_HOLIDAYS = _index_by_year(chinese_calendar.holidays, workday=False)
_CC_WORKDAYS = _index_by_year(chinese_calendar.workdays, workday=True)
_CC_FIRST_YEAR = min(chinese_calendar.holidays).year
_CC_LAST_YEAR = max(chinese_calendar.holidays).year


@dataclass(frozen=True)
class DayInfo:
    """How one day counts: working day or not, its holiday name, and who decided."""

    date: dt.date
    workday: bool
    name: str | None
    source: str  # 'override' | 'chinese_calendar' | 'fallback'


@dataclass(frozen=True)
class WorkdayResult:
    """A computed date, with the years whose days came from the fallback rule."""

    date: dt.date
    fallback_years: tuple[int, ...] = ()

    @property
    def provisional(self) -> bool:
        """True when part of the answer rests on the fallback rule."""
        return bool(self.fallback_years)


def fallback_holidays(year: int) -> dict[dt.date, str]:
    """Statutory holidays of ``year`` by rule (2025 办法), with 补假 for weekend ones.

    元旦 Jan 1; 春节 除夕 and 正月初一-初三; 清明 (the solar term); 劳动节 May 1-2;
    端午 (lunar 5/5); 中秋 (lunar 8/15); 国庆节 Oct 1-3.  A holiday on a Saturday or
    Sunday gives the next weekday that is not already off (补假).  Lunar holidays and
    清明 are only computed for 1900-2100; outside that range they are left out.
    """
    statutory: dict[dt.date, str] = {}

    def add(d: dt.date, name: str) -> None:
        if d.year == year:
            statutory.setdefault(d, name)

    add(dt.date(year, 1, 1), _NEW_YEAR)
    try:
        new_year = LunarDate(year, 1, 1).to_solar_date()
        add(new_year - _ONE_DAY, _SPRING)  # 除夕, whether the 29th or the 30th
        for offset in range(3):
            add(new_year + dt.timedelta(days=offset), _SPRING)
        add(LunarDate(year, 5, 5).to_solar_date(), _DRAGON_BOAT)
        add(LunarDate(year, 8, 15).to_solar_date(), _MID_AUTUMN)
    except ValueError:  # outside the lunar table (1900-2100)
        pass
    try:
        for d, term in chinese_calendar.get_solar_terms(
            dt.date(year, 4, 1), dt.date(year, 4, 30)
        ):
            if term == "清明":
                add(d, _QINGMING)
    except NotImplementedError:  # outside 1900-2100
        pass
    add(dt.date(year, 5, 1), _LABOUR)
    add(dt.date(year, 5, 2), _LABOUR)
    for day in (1, 2, 3):
        add(dt.date(year, 10, day), _NATIONAL)

    result = dict(statutory)
    for d in sorted(statutory):
        if d.weekday() < 5:
            continue
        extra = d + _ONE_DAY
        while extra.weekday() >= 5 or extra in result:
            extra += _ONE_DAY
        if extra.year == year:
            result[extra] = statutory[d]
    return dict(sorted(result.items()))


@functools.lru_cache(maxsize=512)
def _base_year(year: int) -> tuple[str, dict[dt.date, tuple[bool, str | None]]]:
    """Days of ``year`` that are not plain weekdays/weekends, before overrides."""
    if _CC_FIRST_YEAR <= year <= _CC_LAST_YEAR:
        special = dict(_CC_HOLIDAYS.get(year, {}))
        special.update(_CC_WORKDAYS.get(year, {}))
        return SOURCE_CHINESE_CALENDAR, special
    special = {d: (False, name) for d, name in fallback_holidays(year).items()}
    return SOURCE_FALLBACK, special


@dataclass(frozen=True)
class _Year:
    source: str
    special: dict[
        dt.date, DayInfo
    ]  # named, overridden, or not the weekday/weekend default
    workdays: list[int]  # sorted ordinals of the working days


def _as_date(d: dt.date) -> dt.date:
    return d.date() if isinstance(d, dt.datetime) else d


class WorkdayCalendar:
    """Working days from overrides, chinese_calendar and the fallback rule.

    ``overrides`` maps a date to ``(kind, name)`` with kind 'holiday' or 'workday'.
    ``complete_years`` lists years that administrators have fully entered: for them
    only the overrides count (plus ordinary weekends).  Build a new calendar when the
    overrides change.
    """

    def __init__(
        self,
        overrides: Mapping[dt.date, tuple[str, str | None]] | None = None,
        complete_years: Iterable[int] = (),
    ) -> None:
        self._overrides: dict[int, dict[dt.date, tuple[bool, str | None]]] = {}
        for key, (kind, name) in (overrides or {}).items():
            if kind not in (HOLIDAY, WORKDAY):
                raise ValueError(
                    f"override kind must be 'holiday' or 'workday': {kind!r} ({key})"
                )
            d = _as_date(key)
            self._overrides.setdefault(d.year, {})[d] = (kind == WORKDAY, name)
        self._complete_years = frozenset(complete_years)
        self._years: dict[int, _Year] = {}

    # -- per-year data -------------------------------------------------------
    def _year(self, year: int) -> _Year:
        cached = self._years.get(year)
        if cached is not None:
            return cached
        if year in self._complete_years:
            source, base = SOURCE_OVERRIDE, {}
        else:
            source, base = _base_year(year)
        overrides = self._overrides.get(year, {})
        special: dict[dt.date, DayInfo] = {}
        for d, (workday, name) in base.items():
            special[d] = DayInfo(d, workday, name, source)
        for d, (workday, name) in overrides.items():
            special[d] = DayInfo(d, workday, name, SOURCE_OVERRIDE)
        first = dt.date(year, 1, 1).toordinal()
        last = dt.date(year, 12, 31).toordinal()
        workdays = []
        for ordinal in range(first, last + 1):
            d = dt.date.fromordinal(ordinal)
            info = special.get(d)
            workday = info.workday if info is not None else d.weekday() < 5
            if workday:
                workdays.append(ordinal)
        result = _Year(source, dict(sorted(special.items())), workdays)
        self._years[year] = result
        return result

    def year_source(self, year: int) -> str:
        """Who decides the days of ``year`` (overrides of single days aside)."""
        return self._year(year).source

    # -- single days ---------------------------------------------------------
    def day(self, d: dt.date) -> DayInfo:
        """How ``d`` counts."""
        d = _as_date(d)
        year = self._year(d.year)
        info = year.special.get(d)
        if info is not None:
            return info
        return DayInfo(d, d.weekday() < 5, None, year.source)

    def is_workday(self, d: dt.date) -> bool:
        """True if ``d`` is a working day."""
        return self.day(d).workday

    def year_days(self, year: int) -> list[DayInfo]:
        """The notable days of ``year``, sorted, for a listing.

        Holidays on weekdays, workdays on weekends, every day of a named holiday
        period (its weekend days too) and every override.
        """
        return list(self._year(year).special.values())

    # -- counting ------------------------------------------------------------
    def add_working_days(self, start: dt.date, days: int) -> WorkdayResult:
        """The ``days``-th working day strictly after ``start``.

        Art. 82: counting starts the day after acceptance.  ``days == 0`` gives
        ``start`` if it is a working day, else the next working day.
        """
        if days < 0:
            raise ValueError("days must not be negative")
        start = _as_date(start)
        anchor = start if days > 0 else start - _ONE_DAY
        remaining = max(days, 1)
        after = anchor.toordinal()
        year = anchor.year
        while True:
            ordinals = self._year(year).workdays
            i = bisect_right(ordinals, after)
            available = len(ordinals) - i
            if remaining <= available:
                result = dt.date.fromordinal(ordinals[i + remaining - 1])
                break
            remaining -= available
            year += 1
        first_year = (anchor + _ONE_DAY).year
        fallback = tuple(
            y
            for y in range(first_year, result.year + 1)
            if self._year(y).source == SOURCE_FALLBACK
        )
        return WorkdayResult(result, fallback)

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """Number of working days in (start, end]; 0 if ``end <= start``."""
        start, end = _as_date(start), _as_date(end)
        if end <= start:
            return 0
        lo, hi = start.toordinal(), end.toordinal()
        total = 0
        for year in range(start.year, end.year + 1):
            ordinals = self._year(year).workdays
            total += bisect_right(ordinals, hi) - bisect_right(ordinals, lo)
        return total

    def fallback_years_between(self, start: dt.date, end: dt.date) -> tuple[int, ...]:
        """Years touching [start, end] whose days come from the fallback rule."""
        start, end = _as_date(start), _as_date(end)
        return tuple(
            y
            for y in range(start.year, end.year + 1)
            if self._year(y).source == SOURCE_FALLBACK
        )
