"""The working-day calendar as the service uses it: chinesecalendar, the administrators' table, the fallback rule.

`workday_calendar()` is what other modules (the case clock, statistics) call: a `WorkdayCalendar` built from the
`calendar_day` and `calendar_year` tables. It is cached per application under the shared generation `calendar`, which
every change bumps in its own transaction, so a change made by this process or by another server process is seen
on the next call, without a stale window (and a step does not read the tables).
"""

from __future__ import annotations

import datetime as dt
import re
import threading

from sqlalchemy.exc import IntegrityError

from ..audit import service as audit
from ..caches import app_cache, bump_generation, shared_generation
from ..clock import now
from ..errors import Conflict, Invalid, NotFound
from ..extensions import db
from ..plugins import hooks
from .models import KINDS, CalendarDay, CalendarYear
from .workdays import SOURCE_CHINESE_CALENDAR, SOURCE_FALLBACK, WorkdayCalendar

MIN_YEAR, MAX_YEAR = 1901, 2099  # the lunar table behind the fallback's 春节, 端午 and 中秋
MAX_DAYS = 3650
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_KIND_NAMES = {"holiday": "节假日", "workday": "工作日"}
_PLAIN = WorkdayCalendar()  # chinesecalendar and the fallback only: which years chinesecalendar knows
_lock = threading.Lock()


# -- input -------------------------------------------------------------------------------------------------------
def parse_date(text: str, field: str = "date") -> dt.date:
    """A YYYY-MM-DD date, else 422."""
    try:
        if not _DATE.match(text or ""):
            raise ValueError(text)
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise Invalid(f"日期格式错误：{text}，应为 YYYY-MM-DD（例如 2026-10-10）", {field: text}) from None
    check_year(day.year)
    return day


def check_year(year: int) -> None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise Invalid(f"年份 {year} 超出工作日历支持的范围（{MIN_YEAR}–{MAX_YEAR}）",
                      {"year": year, "min": MIN_YEAR, "max": MAX_YEAR})


def parse_year(text: str) -> int:
    if not re.fullmatch(r"\d{4}", text or ""):
        raise Invalid(f"年份格式错误：{text}，应为四位数字（例如 2026）", {"year": text})
    year = int(text)
    check_year(year)
    return year


# -- the calendar ----------------------------------------------------------------------------------------------
def _contents() -> tuple:
    days = tuple(db.session.execute(
        db.select(CalendarDay.date, CalendarDay.kind, CalendarDay.name).order_by(CalendarDay.date)).all())
    years = tuple(db.session.scalars(
        db.select(CalendarYear.year).where(CalendarYear.complete.is_(True)).order_by(CalendarYear.year)))
    return days, years


GENERATION = "calendar"


def workday_calendar() -> WorkdayCalendar:
    """The calendar with every administrator's entry; rebuilt only when the tables changed (on any process)."""
    generation = shared_generation(GENERATION)
    cache = app_cache("calendar.workdays", dict)
    with _lock:
        if cache.get("generation") == generation:
            return cache["calendar"]
    days, years = _contents()
    calendar = WorkdayCalendar({day: (kind, name) for day, kind, name in days}, complete_years=years)
    with _lock:
        cache["generation"], cache["calendar"] = generation, calendar
    return calendar


def invalidate() -> None:
    """In the transaction of a change: every process's calendar is stale once it commits."""
    bump_generation(GENERATION)
    with _lock:
        app_cache("calendar.workdays", dict).clear()


def fallback_note(years) -> str | None:
    if not years:
        return None
    listed = "、".join(f"{y}年" for y in years)
    return (f"{listed}的节假日安排尚未公布或尚未录入，按周末和法定节假日（含补假，不含调休）推算，"
            f"结果为暂定；管理员录入该年安排后可能变化。")


def add_working_days(start: dt.date, days: int) -> dict:
    """The `days`-th working day after `start` (day 0: `start` itself if it is a working day, else the next one)."""
    if not 0 <= days <= MAX_DAYS:
        raise Invalid(f"工作日数应在 0 到 {MAX_DAYS} 之间", {"days": days})
    check_year(start.year)
    result = workday_calendar().add_working_days(start, days)
    check_year(result.date.year)
    return {"date": result.date, "from": start, "days": days, "provisional": result.provisional,
            "fallback_years": list(result.fallback_years), "note": fallback_note(result.fallback_years)}


# -- administrators' entries -----------------------------------------------------------------------------------
def get_day(day: dt.date) -> CalendarDay | None:
    return db.session.get(CalendarDay, day)


def get_day_or_404(day: dt.date) -> CalendarDay:
    row = get_day(day)
    if row is None:
        raise NotFound(f"{day.isoformat()} 没有登记", {"date": day.isoformat()})
    return row


def _check_same_kind(row: CalendarDay, kind: str) -> None:
    if row.kind != kind:
        raise Conflict(
            f"{row.date.isoformat()} 已登记为{_KIND_NAMES[row.kind]}（{row.name or '未命名'}），不能直接改为"
            f"{_KIND_NAMES[kind]}；如需更改，请先删除该日期的登记再重新登记",
            {"date": row.date.isoformat(), "kind": row.kind, "name": row.name, "requested_kind": kind})


def set_day(day: dt.date, kind: str, name: str | None, actor: str) -> tuple[CalendarDay, bool]:
    """Enter a day; the same kind again is a no-op (name updated), another kind is 409. Returns (row, created)."""
    if kind not in KINDS:
        raise Invalid("类型应为 holiday（节假日）或 workday（工作日）", {"kind": kind})
    row = get_day(day)
    if row is not None:
        _check_same_kind(row, kind)
        if name is not None and name != row.name:
            audit.record("calendar.day_renamed", actor=actor,
                         details={"date": day.isoformat(), "kind": kind, "name": name, "previous_name": row.name})
            row.name, row.updated_by, row.updated_at = name, actor, now()
            invalidate()
            db.session.commit()
        return row, False
    row = CalendarDay(date=day, kind=kind, name=name, updated_by=actor, updated_at=now())
    db.session.add(row)
    try:
        db.session.flush()
    except IntegrityError:  # another administrator entered the same date at the same moment
        db.session.rollback()
        row = get_day(day)
        _check_same_kind(row, kind)
        return row, False
    audit.record("calendar.day_set", actor=actor, details={"date": day.isoformat(), "kind": kind, "name": name})
    _changed([day], actor)
    db.session.commit()
    return row, True


def delete_day(day: dt.date, actor: str) -> None:
    row = get_day_or_404(day)
    audit.record("calendar.day_deleted", actor=actor,
                 details={"date": day.isoformat(), "kind": row.kind, "name": row.name})
    db.session.delete(row)
    db.session.flush()
    _changed([day], actor)
    db.session.commit()


def _changed(days: list[dt.date], actor: str | None) -> None:
    """The days' answers changed (flushed, not committed): open cases' due dates, step timers and lights are counted
    again in the same transaction (the runtime's timers, the hall's clocks: `calendar_changed`)."""
    invalidate()
    hooks().calendar_changed(days=days, actor=actor, at=now())


def set_year_complete(year: int, complete: bool, actor: str) -> dict:
    """Mark a year as fully entered (the State Council's schedule): its days then come from the table only."""
    if complete and _PLAIN.year_source(year) == SOURCE_CHINESE_CALENDAR:
        raise Invalid(f"{year}年的安排由 chinesecalendar 提供，不能标记为已完整录入；单日更正请登记该日期",
                      {"year": year})
    row = db.session.get(CalendarYear, year)
    if row is None:
        row = CalendarYear(year=year)
        db.session.add(row)
    if row.complete != complete or row.updated_at is None:
        audit.record("calendar.year_marked", actor=actor, details={"year": year, "complete": complete})
        row.complete, row.updated_by, row.updated_at = complete, actor, now()
        db.session.flush()
        _changed([dt.date(year, 1, 1), dt.date(year, 12, 31)], actor)
        db.session.commit()
    return year_listing(year)


def year_listing(year: int) -> dict:
    """The year's holidays and adjusted working days, where each answer comes from, and its working-day count."""
    calendar = workday_calendar()
    source = calendar.year_source(year)
    days = [{"date": info.date, "kind": "workday" if info.workday else "holiday", "name": info.name,
             "source": info.source, "weekday": info.date.isoweekday()} for info in calendar.year_days(year)]
    count = calendar.working_days_between(dt.date(year - 1, 12, 31), dt.date(year, 12, 31))
    provisional = source == SOURCE_FALLBACK
    return {"year": year, "source": source, "complete": source == "override", "provisional": provisional,
            "working_days": count, "note": fallback_note((year,)) if provisional else None, "days": days}
