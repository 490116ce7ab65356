"""Statistics for the center's reports: cases received in a period, grouped by window, department or matter.

Every figure is counted over the cases **received** (收件, `received_on`, Asia/Shanghai) in the period:

* `received` all of them; `completed` those in state completed; `open` running (or stopped by an error);
  `cancelled` withdrawn.
* `on_time` completed cases the clock found on time; `on_time_rate` = on_time / completed cases with a clock verdict,
  in percent (null when none completed).
* `avg_working_days` and `p90_working_days`: working days used by the completed cases. p90 is the nearest rank:
  the ⌈0.9·n⌉-th smallest value.
* `overdue` = completed late (on_time false) + open with a red light.
* `supplements` = the sum of supplement notices (补正告知); `refusals` outcome refused (不予许可); `not_accepted`
  outcome not_accepted (不予受理); `green_channel` cases on the green channel.
* `daily_traffic` = received / working days of the period up to today (the working-day calendar); a window whose
  traffic is below `merge_below` is a `merge_candidate`.
* `grade` from the on-time rate: 优秀 / 良好 / 合格 at or above the configured thresholds, else 不合格; null when no
  completed case has a verdict.

Per clerk (`clerks`), over the cases received in the period that the clerk took part in (received, accepted as
owner 首问负责, or completed a step of), and the steps they completed in the period: see that function.

The counts are SQL aggregates grouped by the key; the p90 reads a histogram (key, working days, cases) — a few
dozen rows a group, whatever the period — never every case's figure.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import selectinload

from ...calendar.service import check_year, workday_calendar
from ...clock import SHANGHAI, as_utc, now
from ...definitions.models import ProcessDefinition
from ...errors import Forbidden, Invalid, NotFound
from ...extensions import db
from ...instances.models import ProcessInstance as PI
from ...matters.models import KIND_NAMES, KINDS, Matter, MatterVersion
from ...people.models import Department, User, Window
from ...tasks.models import UserTask
from ..models import CaseEvent
from ..models import HallCase as HC
from ..vocabulary import Outcome
from . import models as _indexes  # noqa: F401  (the indexes belong to the metadata)

log = logging.getLogger(__name__)

GRADES = ("优秀", "良好", "合格")  # at or above their threshold; below the last one: 不合格
FAIL_GRADE = "不合格"
DEFAULT_GRADE_THRESHOLDS = (98.0, 95.0, 90.0)  # on-time rate in percent
DEFAULT_MERGE_BELOW = 2.0  # cases per working day
DEFAULT_SPEED_UP_GOAL = 30.0  # percent: the seed's goal for process re-engineering

OPEN_STATES = ("running", "error", "suspended")


# -- settings ----------------------------------------------------------------------------------------------------
def grade_thresholds() -> tuple[float, float, float]:
    """(优秀, 良好, 合格) minimum on-time rates in percent: app.config STATISTICS_GRADE_THRESHOLDS (from
    TONGBAN_GRADE_THRESHOLDS, "98,95,90"), else 98, 95, 90."""
    values = current_app.config.get("STATISTICS_GRADE_THRESHOLDS") or DEFAULT_GRADE_THRESHOLDS
    values = tuple(float(v) for v in values)
    if len(values) != 3 or not 100 >= values[0] >= values[1] >= values[2] >= 0:
        log.warning("grade thresholds %r are not three falling percentages; using %s", values,
                    DEFAULT_GRADE_THRESHOLDS)
        return DEFAULT_GRADE_THRESHOLDS
    return values


def min_graded_cases() -> int:
    """How many decided cases a group needs before it is graded (TONGBAN_MIN_GRADED_CASES, 10)."""
    return int(current_app.config.get("STATISTICS_MIN_GRADED_CASES", 10))


def default_merge_below() -> float:
    value = current_app.config.get("STATISTICS_MERGE_BELOW")
    return float(DEFAULT_MERGE_BELOW if value is None else value)


def speed_up_goal() -> float:
    value = current_app.config.get("STATISTICS_SPEED_UP_GOAL")
    return float(DEFAULT_SPEED_UP_GOAL if value is None else value)


def grade(rate: float | None, thresholds: tuple[float, float, float]) -> str | None:
    if rate is None:
        return None
    for name, minimum in zip(GRADES, thresholds, strict=True):
        if rate >= minimum:
            return name
    return FAIL_GRADE


def thresholds_listing(thresholds: tuple[float, float, float]) -> list[dict]:
    return [{"grade": name, "min_on_time_rate": minimum} for name, minimum in zip(GRADES, thresholds, strict=True)] \
        + [{"grade": FAIL_GRADE, "min_on_time_rate": 0.0}]


# -- the period --------------------------------------------------------------------------------------------------
def today() -> dt.date:
    return now().astimezone(SHANGHAI).date()


@dataclass(frozen=True)
class Period:
    start: dt.date | None
    end: dt.date | None

    def where(self) -> list:
        conditions = []
        if self.start is not None:
            conditions.append(HC.received_on >= self.start)
        if self.end is not None:
            conditions.append(HC.received_on <= self.end)
        return conditions


def check_period(start: dt.date | None, end: dt.date | None) -> None:
    for day in (start, end):
        if day is not None:
            check_year(day.year)
    if start is not None and end is not None and start > end:
        raise Invalid(f"开始日期 {start.isoformat()} 晚于结束日期 {end.isoformat()}",
                      {"from": start.isoformat(), "to": end.isoformat()})


def _month_end(day: dt.date) -> dt.date:
    return (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)


def month_period(start: dt.date | None, end: dt.date | None) -> Period:
    """The period asked for. Left out: `from` is the first day of the current month (of `to`'s month when only
    `to` is given), `to` the last day of the current month (of `from`'s month when `from` is later)."""
    check_period(start, end)
    this_month = today().replace(day=1)
    if start is None:
        start = this_month if end is None or end >= this_month else end.replace(day=1)
    if end is None:
        end = max(_month_end(this_month), _month_end(start))
    return Period(start, end)


def working_days(period: Period) -> tuple[int, int]:
    """(working days in the period, working days in it up to today): the latter divides the traffic."""
    calendar = workday_calendar()
    before = period.start - dt.timedelta(days=1)
    total = calendar.working_days_between(before, period.end)
    elapsed = calendar.working_days_between(before, min(period.end, today()))
    return total, elapsed


# -- the aggregates ----------------------------------------------------------------------------------------------
def _count(condition) -> sa.ColumnElement:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


NOT_ACCEPTED = str(Outcome.NOT_ACCEPTED)  # a report figure: cases that ended 不予受理 (the hall's outcome)
# 办结: closed by a decision or an answer — not 撤销, 撤件 or 补正超时终止, which are counted apart
_COMPLETED = HC.is_open.is_(False) & sa.func.coalesce(HC.outcome, "").not_in(
    ("cancelled", "withdrawn", str(Outcome.SUPPLEMENT_TIMEOUT)))
_OPEN = HC.is_open.is_(True)
_JUDGED = HC.on_time.is_not(None)  # decided (or answered 不予受理): the decision clock's figures are set

_COLUMNS = {
    "received": sa.func.count(),
    "completed": _count(_COMPLETED),
    "open": _count(_OPEN),
    "cancelled": _count(HC.outcome == "cancelled"),
    "decided": _count(HC.decided_at.is_not(None)),
    "judged": _count(_JUDGED),
    "on_time": _count(HC.on_time.is_(True)),
    "late": _count(HC.on_time.is_(False)),
    "open_red": _count(_OPEN & (HC.light == "red")),
    "avg_working_days": sa.func.avg(sa.case((_JUDGED, HC.working_days_used), else_=None)),
    "supplement_timeouts": _count(HC.outcome == Outcome.SUPPLEMENT_TIMEOUT),
    "withdrawn": _count(HC.outcome == "withdrawn"),
    "supplements": sa.func.coalesce(sa.func.sum(HC.supplement_count), 0),
    "refusals": _count(HC.outcome == Outcome.REFUSED),
    NOT_ACCEPTED: _count(HC.outcome == Outcome.NOT_ACCEPTED),
    "green_channel": _count(HC.green_channel.is_(True)),
}


def _elapsed_hours() -> sa.ColumnElement:
    """ended_at − started_at in hours, in the database's own date arithmetic."""
    if db.engine.dialect.name == "postgresql":
        return sa.extract("epoch", PI.ended_at - PI.started_at) / 3600.0
    return (sa.func.julianday(PI.ended_at) - sa.func.julianday(PI.started_at)) * 24.0


def _from(query, join: str | None, runtime: bool = True):
    """The cases the reports count: the hall's rows, with the runtime's (its start and end, its version) when a
    figure reads them — every hall row has its runtime row, and joining a million of them for nothing doubles a
    long period's report."""
    query = query.select_from(HC)
    if runtime:
        query = query.join(PI, PI.id == HC.instance_id)
    if join == "matter":
        return query.outerjoin(Matter, Matter.code == HC.matter_code)
    return query


def _reads_runtime(*expressions) -> bool:
    from sqlalchemy.sql.util import find_tables

    return any(PI.__table__ in find_tables(e, include_crud=False) for e in expressions if e is not None)


def aggregate(key, where: list, *, join: str | None = None, elapsed: bool = False) -> dict:
    """Raw figures per value of `key` (one GROUP BY), with each group's working days as a histogram for the p90
    ({days: cases}: a few dozen rows per group from the database, whatever the period's size).

    `key` None: one group for all the cases, under the key None; a tuple of columns: groups keyed by tuples.
    """
    columns = dict(_COLUMNS)
    if elapsed:
        columns["avg_elapsed_hours"] = sa.func.avg(
            sa.case((_COMPLETED & PI.ended_at.is_not(None), _elapsed_hours()), else_=None))
    labelled = [column.label(name) for name, column in columns.items()]
    keys = key if isinstance(key, tuple) else () if key is None else (key,)
    key_columns = [k.label(f"key{i}") for i, k in enumerate(keys)] or [sa.null().label("key0")]
    runtime = elapsed or _reads_runtime(*keys, *where)

    def group_of(values) -> object:
        return tuple(values) if isinstance(key, tuple) else values[0]

    query = _from(sa.select(*key_columns, *labelled), join, runtime).where(*where)
    if keys:
        query = query.group_by(*keys)
    groups = {}
    for row in db.session.execute(query).mappings():
        figures = dict(row)
        if figures["received"] == 0:  # no GROUP BY over no rows
            continue
        figures["days"] = {}
        groups[group_of([figures.pop(c.name) for c in key_columns])] = figures
    days_query = _from(sa.select(*key_columns, HC.working_days_used, sa.func.count()), join, runtime).where(
        *where, _JUDGED, HC.working_days_used.is_not(None))
    days_query = days_query.group_by(*keys, HC.working_days_used)
    for row in db.session.execute(days_query):
        group, days, cases = group_of(row[:len(key_columns)]), row[-2], row[-1]
        if group in groups:
            groups[group]["days"][int(days)] = int(cases)
    return groups


def p90(values: list[int] | dict[int, int]) -> int | None:
    """Nearest rank: the ⌈0.9·n⌉-th smallest value — of sorted values, or of a histogram {value: count}."""
    if isinstance(values, dict):
        rank, seen = (9 * sum(values.values()) + 9) // 10, 0
        for value in sorted(values):
            seen += values[value]
            if seen >= rank:
                return value
        return None
    if not values:
        return None
    return values[(9 * len(values) + 9) // 10 - 1]


def _rounded(value, digits: int = 2) -> float | None:
    return None if value is None else round(float(value), digits)


def figures(raw: dict | None, *, traffic_days: int, thresholds, merge_below: float | None = None) -> dict:
    """The published figures of one group (zeros when it received no case)."""
    raw = raw or {}
    count = {name: int(raw.get(name) or 0) for name in (
        "received", "completed", "open", "cancelled", "judged", "on_time", "late", "open_red", "supplements",
        "refusals", NOT_ACCEPTED, "green_channel", "decided", "supplement_timeouts", "withdrawn")}
    rate = 100.0 * count["on_time"] / count["judged"] if count["judged"] else None
    graded = count["judged"] >= min_graded_cases()  # one late case of one is no verdict on a window
    traffic = count["received"] / traffic_days if traffic_days else None
    result = {
        "received": count["received"],
        "completed": count["completed"],
        "open": count["open"],
        "cancelled": count["cancelled"],
        "decided": count["decided"],  # decisions (and 不予受理 answers): what on_time and the working days are of
        "supplement_timeouts": count["supplement_timeouts"],  # 补正超时终止: no decision, counted apart
        "withdrawn": count["withdrawn"],
        "on_time": count["on_time"],
        "on_time_rate": _rounded(rate),
        "avg_working_days": _rounded(raw.get("avg_working_days")),
        "p90_working_days": p90(raw.get("days") or {}),
        "overdue": count["late"] + count["open_red"],
        "supplements": count["supplements"],
        "refusals": count["refusals"],
        NOT_ACCEPTED: count[NOT_ACCEPTED],
        "green_channel": count["green_channel"],
        "daily_traffic": _rounded(traffic),
        "grade": grade(rate, thresholds) if graded else None,
        "grade_note": None if graded or not count["judged"] else f"样本不足（{count['judged']} 件，至少 {min_graded_cases()} 件才评定等级）",
    }
    if merge_below is not None:
        result["merge_candidate"] = traffic is not None and traffic < merge_below
    return result


def _header(period: Period, thresholds) -> tuple[dict, int]:
    total, elapsed = working_days(period)
    return {"from": period.start, "to": period.end, "working_days": total, "traffic_working_days": elapsed,
            "grade_thresholds": thresholds_listing(thresholds)}, elapsed


# -- the reports -------------------------------------------------------------------------------------------------
def _department_names() -> dict[str, str]:
    return dict(db.session.execute(sa.select(Department.code, Department.name)).all())


def _check_department(code: str | None, names: dict[str, str]) -> None:
    if code is not None and code not in names:
        raise NotFound(f"部门 {code} 不存在", {"department": code})


def windows(start: dt.date | None, end: dt.date | None, merge_below: float | None = None,
            department: str | None = None, only: list[str] | None = None) -> dict:
    """Every window (with no cases too), by number; cases without a window under `unassigned`. `only`: just these
    departments' cases, at their windows and at any other window that received some (the comprehensive window)."""
    period = month_period(start, end)
    thresholds = grade_thresholds()
    merge_below = default_merge_below() if merge_below is None else merge_below
    names = _department_names()
    _check_department(department, names)
    header, traffic_days = _header(period, thresholds)
    where = period.where()
    rows = sa.select(Window.no, Window.name, Window.department_code).order_by(Window.no)
    if department is not None:
        rows = rows.where(Window.department_code == department)
        where.append(HC.department_code == department)
    where += _in(only)
    groups = aggregate(HC.window_no, where)
    items = []
    for no, name, code in db.session.execute(rows):
        if only is not None and code not in only and no not in groups:
            continue
        item = {"no": no, "name": name, "department": code, "department_name": names.get(code)}
        item.update(figures(groups.pop(no, None), traffic_days=traffic_days, thresholds=thresholds,
                            merge_below=merge_below))
        items.append(item)
    unassigned = _merge_raw(groups.values())  # no window, or a window no longer in the hall
    return {**header, "merge_below": merge_below, "items": items,
            "merge_candidates": [item["no"] for item in items if item["merge_candidate"]],
            "unassigned": figures(unassigned, traffic_days=traffic_days, thresholds=thresholds)}


def _merge_raw(groups) -> dict | None:
    """Several groups' raw figures as one (sums, the average weighted by its cases, the days merged)."""
    groups = list(groups)
    if not groups:
        return None
    if len(groups) == 1:
        return groups[0]
    merged = {name: sum(int(g[name]) for g in groups) for name in _COLUMNS if name != "avg_working_days"}
    days: dict[int, int] = {}
    for group in groups:
        for value, cases in group["days"].items():
            days[value] = days.get(value, 0) + cases
    merged["days"] = days
    decided = sum(days.values())
    merged["avg_working_days"] = sum(v * n for v, n in days.items()) / decided if decided else None
    return merged


def _in(departments: list[str] | None) -> list:
    """The condition for a department supervisor's own departments (None: the whole center)."""
    return [] if departments is None else [HC.department_code.in_(departments)]


def departments(start: dt.date | None, end: dt.date | None, only: list[str] | None = None) -> dict:
    """Every department (with no cases too), by code; cases without a department under `unassigned`; `only`:
    just these departments (a department supervisor's board)."""
    period = month_period(start, end)
    thresholds = grade_thresholds()
    header, traffic_days = _header(period, thresholds)
    groups = aggregate(HC.department_code, [*period.where(), *_in(only)])
    items = []
    listing = sa.select(Department.code, Department.name).order_by(Department.code)
    if only is not None:
        listing = listing.where(Department.code.in_(only))
    for code, name in db.session.execute(listing):
        item = {"code": code, "name": name}
        item.update(figures(groups.pop(code, None), traffic_days=traffic_days, thresholds=thresholds))
        items.append(item)
    return {**header, "items": items,
            "unassigned": figures(_merge_raw(groups.values()), traffic_days=traffic_days, thresholds=thresholds)}


def matters(start: dt.date | None, end: dt.date | None, department: str | None = None,
            kind: str | None = None, only: list[str] | None = None) -> dict:
    """Every catalogued matter (with no cases too), by code, with its name and kind; `only`: just these
    departments' matters and cases."""
    period = month_period(start, end)
    thresholds = grade_thresholds()
    names = _department_names()
    _check_department(department, names)
    header, traffic_days = _header(period, thresholds)
    where = period.where()
    listing = sa.select(Matter.code, Matter.name, Matter.kind, Matter.department_code).order_by(Matter.code)
    catalogued = sa.select(Matter.code)
    if department is not None:
        listing = listing.where(Matter.department_code == department)
        catalogued = catalogued.where(Matter.department_code == department)
    if kind is not None:
        listing = listing.where(Matter.kind == kind)
        catalogued = catalogued.where(Matter.kind == kind)
    if department is not None or kind is not None:
        where.append(HC.matter_code.in_(catalogued))
    if only is not None:
        listing = listing.where(Matter.department_code.in_(only))
        where += _in(only)
    groups = aggregate(HC.matter_code, where)
    items = []
    for code, name, matter_kind, matter_department in db.session.execute(listing):
        item = {"code": code, "name": name, "kind": matter_kind, "kind_name": KIND_NAMES.get(matter_kind),
                "department": matter_department, "department_name": names.get(matter_department)}
        item.update(figures(groups.pop(code, None), traffic_days=traffic_days, thresholds=thresholds))
        items.append(item)
    for code in sorted(groups, key=lambda c: (c is None, c or "")):  # cases of matters not (or no longer) listed
        item = {"code": code, "name": None, "kind": None, "kind_name": None, "department": None,
                "department_name": None}
        item.update(figures(groups[code], traffic_days=traffic_days, thresholds=thresholds))
        items.append(item)
    return {**header, "items": items}


def summary(start: dt.date | None, end: dt.date | None, only: list[str] | None = None) -> dict:
    """The whole center (or `only` these departments) over the period, by kind of matter, and its green-channel
    cases."""
    period = month_period(start, end)
    thresholds = grade_thresholds()
    header, traffic_days = _header(period, thresholds)
    where = [*period.where(), *_in(only)]

    def publish(raw):
        return figures(raw, traffic_days=traffic_days, thresholds=thresholds)

    # one pass over the period, by kind and green channel; the center and the green channel are sums of groups
    split = aggregate((Matter.kind, HC.green_channel), where, join="matter")
    center = _merge_raw(split.values())
    green = _merge_raw(raw for (_, on_green), raw in split.items() if on_green)
    kinds: dict = {}
    for (kind, _), raw in split.items():
        kinds.setdefault(kind, []).append(raw)
    kinds = {kind: _merge_raw(raws) for kind, raws in kinds.items()}
    by_kind = [{"kind": kind, "kind_name": KIND_NAMES[kind], **publish(kinds.pop(kind, None))} for kind in KINDS]
    if kinds:  # cases of a matter not in the catalog
        by_kind.append({"kind": None, "kind_name": "未登记事项", **publish(_merge_raw(kinds.values()))})
    return {**header, **publish(center), "by_kind": by_kind, "green_channel_figures": publish(green)}


# -- two versions of a matter's process --------------------------------------------------------------------------
def _version_figures(version: ProcessDefinition, raw: dict | None, thresholds) -> dict:
    raw = raw or {}
    judged, on_time = int(raw.get("judged") or 0), int(raw.get("on_time") or 0)
    rate = 100.0 * on_time / judged if judged else None
    return {
        "version": version.version,
        "definition_id": version.id,
        "deployed_at": version.deployed_at,
        "cases": int(raw.get("received") or 0),
        "completed": int(raw.get("completed") or 0),
        "on_time": on_time,
        "on_time_rate": _rounded(rate),
        "grade": grade(rate, thresholds),
        "avg_working_days": _rounded(raw.get("avg_working_days")),
        "p90_working_days": p90(raw.get("days") or {}),
        "avg_elapsed_hours": _rounded(raw.get("avg_elapsed_hours")),
    }


def _speed_up(base: dict | None, compare: dict | None, name: str) -> float | None:
    """(base − compare) / base in percent, from the unrounded averages; None when either is missing or base is 0."""
    if base is None or compare is None or base.get(name) is None or compare.get(name) is None:
        return None
    before, after = float(base[name]), float(compare[name])
    if before <= 0:
        return None
    return 100.0 * (before - after) / before


def _pick(by_number: dict[int, dict], base: int | None, compare: int | None) -> tuple[int | None, int | None]:
    """The versions to compare: as given; else `compare` is the latest version with completed cases (after `base`
    when that is given) and `base` the latest one with completed cases before `compare`."""
    for number in (base, compare):
        if number is not None and number not in by_number:
            raise NotFound(f"版本 {number} 不存在", {"version": number, "versions": sorted(by_number)})
    if base is not None and base == compare:
        raise Invalid("对比的两个版本不能相同", {"base": base, "compare": compare})
    done = sorted((n for n, v in by_number.items() if v["completed"]), reverse=True)
    if compare is None:
        later = [n for n in done if base is None or n > base]
        compare = later[0] if later else None
    if base is None:
        earlier = [n for n in done if compare is None or n < compare]
        base = earlier[0] if earlier else None
    return base, compare


def versions(code: str, start: dt.date | None, end: dt.date | None, base: int | None = None,
             compare: int | None = None, only: list[str] | None = None) -> dict:
    """Cases of a matter per version of its process, and the speed-up of `compare` over `base`.

    The period is open where a bound is left out (all the matter's cases by default). `only`: the departments in
    the caller's scope; a matter of another department is refused (403), and only their cases count.
    """
    check_period(start, end)
    matter = db.session.get(Matter, code)
    if matter is None:
        raise NotFound(f"事项 {code} 不存在", {"code": code})
    if only is not None and matter.department_code not in only:
        raise Forbidden("只能查看本人督查部门的统计", {"code": code, "department": matter.department_code,
                                                 "your_departments": list(only)})
    thresholds = grade_thresholds()
    goal = speed_up_goal()
    definitions = list(db.session.scalars(
        sa.select(ProcessDefinition).where(ProcessDefinition.key == matter.process_key,
                                           ProcessDefinition.kind == "bpmn")
        .order_by(ProcessDefinition.version)))
    where = [*Period(start, end).where(), HC.matter_code == code,
             PI.definition_id.in_([d.id for d in definitions]), *_in(only)]
    groups = aggregate(PI.definition_id, where, elapsed=True)
    listed = [_version_figures(d, groups.get(d.id), thresholds) for d in definitions]
    by_number = {v["version"]: v for v in listed}
    raw = {d.version: groups.get(d.id) for d in definitions}
    base, compare = _pick(by_number, base, compare)

    days = _speed_up(raw.get(base), raw.get(compare), "avg_working_days")
    hours = _speed_up(raw.get(base), raw.get(compare), "avg_elapsed_hours")
    basis, achieved = ("working_days", days) if days is not None else \
        ("elapsed_hours", hours) if hours is not None else (None, None)
    if base is None or compare is None:
        note = "有办结件的版本不足两个，无法对比"
    elif achieved is None:
        note = "所选版本缺少办结件，无法计算提速"
    elif basis == "elapsed_hours":
        note = "基准版本平均用时为 0 个工作日，按平均耗时（小时）计算提速"
    else:
        note = None
    return {
        "matter": {"code": matter.code, "name": matter.name, "kind": matter.kind,
                   "kind_name": KIND_NAMES.get(matter.kind), "department": matter.department_code,
                   "process_key": matter.process_key},
        "from": start, "to": end,
        "versions": listed,
        "base": by_number.get(base), "compare": by_number.get(compare),
        "speed_up_percent": _rounded(days),
        "elapsed_speed_up_percent": _rounded(hours),
        "goal_percent": goal,
        "goal_basis": basis,
        "goal_met": None if achieved is None else achieved >= goal,
        "note": note,
    }


# -- the speed-up across matter-record versions (提速) -----------------------------------------------------------
def _decided_only():
    """The decision's clock: cases decided (决定), with their working days from acceptance to the decision."""
    return HC.decided_at.is_not(None) & HC.working_days_used.is_not(None)


def _case_version():
    """The matter-record version a case was received under: its own (set at intake), else — a case from before
    versions were kept — the version in force on its receipt date."""
    in_force = sa.select(sa.func.max(MatterVersion.version)).where(
        MatterVersion.matter_code == HC.matter_code, MatterVersion.effective_from <= HC.received_on) \
        .correlate(HC).scalar_subquery()
    return sa.func.coalesce(HC.matter_version, in_force)


def _per_version(codes: list[str], period: Period, departments: list[str] | None) -> dict:
    """(matter code, version) -> received, decided and the decided cases' working days (sum)."""
    if not codes:
        return {}
    decided = _decided_only()
    cases = sa.select(HC.matter_code.label("code"), _case_version().label("version"),
                      sa.case((decided, 1), else_=0).label("decided"),
                      sa.case((decided, HC.working_days_used), else_=0).label("days")) \
        .where(*period.where(), HC.matter_code.in_(codes), *_in(departments)).subquery()
    query = sa.select(cases.c.code, cases.c.version, sa.func.count(), sa.func.sum(cases.c.decided),
                      sa.func.sum(cases.c.days)).group_by(cases.c.code, cases.c.version)
    return {(code, version): {"received": int(received), "decided": int(decided or 0), "days": int(days or 0)}
            for code, version, received, decided, days in db.session.execute(query)}


def _percent(before, after) -> float | None:
    """(before − after) / before in percent; None when either is missing or before is not above 0."""
    if before is None or after is None or float(before) <= 0:
        return None
    return 100.0 * (float(before) - float(after)) / float(before)


def _eras(versions: list) -> list[list]:
    """Consecutive versions with the same promised limit: one era each."""
    eras: list[list] = []
    for row in versions:
        if eras and eras[-1][-1].promised_days == row.promised_days:
            eras[-1].append(row)
        else:
            eras.append([row])
    return eras


def _side(era: list, counts: dict, code: str) -> tuple[dict, float | None]:
    """One era's limits and its cases' figures, and the unrounded average of the decided cases' working days."""
    figures = [counts.get((code, v.version)) or {} for v in era]
    received, decided, days = (sum(f.get(k, 0) for f in figures) for k in ("received", "decided", "days"))
    average = days / decided if decided else None
    return {"versions": [v.version for v in era], "effective_from": era[0].effective_from,
            "promised_days": era[0].promised_days, "statutory_days": era[-1].statutory_days, "received": received,
            "decided": decided, "working_days_total": days, "avg_working_days": _rounded(average)}, average


def _version_row(row, counts: dict) -> dict:
    figures = counts.get((row.matter_code, row.version)) or {}
    decided = figures.get("decided", 0)
    return {"version": row.version, "effective_from": row.effective_from, "promised_days": row.promised_days,
            "statutory_days": row.statutory_days, "reason": row.reason, "received": figures.get("received", 0),
            "decided": decided, "avg_working_days": _rounded(figures["days"] / decided) if decided else None}


def speed_up(start: dt.date | None, end: dt.date | None, department: str | None = None,
             only: list[str] | None = None) -> dict:
    """Per matter whose record changed, and for the center (the departments in scope): the promised limit and the
    decision's actual working days before and after, across matter-record versions: the method is described at
    GET /api/v1/statistics/speed-up (app/api/statistics.py) and in docs/statistics.md."""
    check_period(start, end)
    names = _department_names()
    _check_department(department, names)
    departments = [department] if department is not None else only
    last_day = end or today()
    goal = speed_up_goal()
    matters = sa.select(Matter.code, Matter.name, Matter.kind, Matter.department_code).order_by(Matter.code)
    if departments is not None:
        matters = matters.where(Matter.department_code.in_(departments))
    listed = {code: (name, kind, dep) for code, name, kind, dep in db.session.execute(matters)}
    versions: dict[str, list] = {}
    if listed:
        for row in db.session.scalars(sa.select(MatterVersion).where(
                MatterVersion.matter_code.in_(list(listed)), MatterVersion.effective_from <= last_day)
                .order_by(MatterVersion.matter_code, MatterVersion.version)):
            versions.setdefault(row.matter_code, []).append(row)
    changed = sorted(code for code, rows in versions.items() if len(rows) > 1)  # a record changed by `to`
    counts = _per_version(changed, Period(start, end), departments)
    items = []
    totals = dict.fromkeys(("matters", "promised_before", "promised_after", "compared", "decided_before",
                            "days_before", "decided_after", "days_after"), 0)
    for code in changed:
        eras = _eras(versions[code])
        first = 0  # the era in force when the period starts (the first one without a start)
        if start is not None:
            first = max((i for i, era in enumerate(eras) if era[0].effective_from <= start), default=0)
        before, average_before = _side(eras[first], counts, code)
        after, average_after = _side(eras[-1], counts, code)
        limit_changed = first != len(eras) - 1 and before["promised_days"] != after["promised_days"]
        promised = _percent(before["promised_days"], after["promised_days"]) if limit_changed else None
        actual = _percent(average_before, average_after) if limit_changed else None
        name, kind, dep = listed[code]
        items.append({
            "code": code, "name": name, "kind": kind, "kind_name": KIND_NAMES.get(kind), "department": dep,
            "department_name": names.get(dep), "limit_changed": limit_changed,
            "before": before if limit_changed else None, "after": after,
            "promised_speed_up_percent": _rounded(promised), "actual_speed_up_percent": _rounded(actual),
            "goal_met": None if promised is None or actual is None else promised >= goal and actual >= goal,
            "versions": [_version_row(v, counts) for v in versions[code]]})
        if not limit_changed:
            continue
        totals["matters"] += 1
        totals["promised_before"] += before["promised_days"]
        totals["promised_after"] += after["promised_days"]
        if before["decided"] and after["decided"]:
            totals["compared"] += 1
            for side, figures in (("before", before), ("after", after)):
                totals[f"decided_{side}"] += figures["decided"]
                totals[f"days_{side}"] += figures["working_days_total"]
    average_before = totals["days_before"] / totals["decided_before"] if totals["decided_before"] else None
    average_after = totals["days_after"] / totals["decided_after"] if totals["decided_after"] else None
    promised = _percent(totals["promised_before"], totals["promised_after"]) if totals["matters"] else None
    actual = _percent(average_before, average_after)
    promised_met = None if promised is None else promised >= goal
    actual_met = None if actual is None else actual >= goal
    center = {
        "matters_changed": totals["matters"],
        "promised_days_before": totals["promised_before"] if totals["matters"] else None,
        "promised_days_after": totals["promised_after"] if totals["matters"] else None,
        "promised_speed_up_percent": _rounded(promised),
        "matters_compared": totals["compared"],
        "decided_before": totals["decided_before"], "decided_after": totals["decided_after"],
        "avg_working_days_before": _rounded(average_before), "avg_working_days_after": _rounded(average_after),
        "actual_speed_up_percent": _rounded(actual),
        "promised_goal_met": promised_met, "actual_goal_met": actual_met,
        "goal_met": None if promised_met is None or actual_met is None else promised_met and actual_met,
    }
    return {"from": start, "to": end, "department": department, "departments": departments,
            "goal_percent": goal, "center": center, "items": items}

# -- per day (the workbench's board charts) -----------------------------------------------------------------------
def per_day(start: dt.date | None, end: dt.date | None, only: list[str] | None = None) -> dict:
    """Cases received (by 收件 date) and completed (by their end, Asia/Shanghai) on each day of the period."""
    period = month_period(start, end)
    received = dict(db.session.execute(sa.select(HC.received_on, sa.func.count()).where(*period.where(), *_in(only))
                                       .group_by(HC.received_on)).all())
    low = dt.datetime.combine(period.start, dt.time(), SHANGHAI)
    high = dt.datetime.combine(period.end + dt.timedelta(days=1), dt.time(), SHANGHAI)
    completed: dict[dt.date, int] = {}
    for ended in db.session.scalars(sa.select(HC.closed_at).where(_COMPLETED, HC.closed_at >= low,
                                                                  HC.closed_at < high, *_in(only))):
        day = as_utc(ended).astimezone(SHANGHAI).date()
        completed[day] = completed.get(day, 0) + 1
    days = []
    day = period.start
    while day <= period.end:
        days.append({"date": day, "received": int(received.get(day, 0)), "completed": completed.get(day, 0)})
        day += dt.timedelta(days=1)
    return {"from": period.start, "to": period.end, "days": days}


# -- per clerk (人员统计) -----------------------------------------------------------------------------------------
def clerks(start: dt.date | None, end: dt.date | None, departments: list[str] | None = None) -> dict:
    """Per person: what they received and accepted, the steps they completed, and how their cases went.

    * `received` cases they received (收件: started), `accepted` cases they own (首问负责: accepted at the window),
      `cases` cases they took part in (either, or completed a step of): all received in the period.
    * `completed`, `on_time`, `on_time_rate`, `avg_working_days`, `overdue`, `grade`: over `cases`, as in the
      other reports (a case counts for everyone who worked on it).
    * `steps_completed`: user tasks they completed in the period (Asia/Shanghai dates of completion);
      `avg_step_working_days` the working days from a step's opening to its completion; `steps_late` those
      completed after the step's deadline (steps with a boundary timer).

    `departments` None: every case and every person; else only those departments' cases (and steps of them), and
    the people of those departments (User.department_codes) or who worked on such a case. Listed: active clerks
    in scope (zeros too) and anyone in scope with a figure; by department, window, name.
    """
    period = month_period(start, end)
    thresholds = grade_thresholds()
    header, _ = _header(period, thresholds)
    names = _department_names()
    for code in departments or ():
        _check_department(code, names)
    where = period.where()
    if departments is not None:
        where.append(HC.department_code.in_(departments))

    # who took part in which case: (username, instance id) pairs, each once
    took_part = sa.union(
        sa.select(PI.started_by.label("username"), PI.id.label("instance_id")).where(PI.started_by.is_not(None)),
        sa.select(HC.owner, HC.instance_id).where(HC.owner.is_not(None)),
        sa.select(UserTask.completed_by, UserTask.instance_id).where(UserTask.completed_by.is_not(None)),
    ).subquery()
    who = took_part.c.username
    columns = {"cases": sa.func.count(), "received": _count(PI.started_by == who), "accepted": _count(HC.owner == who),
               **{name: _COLUMNS[name] for name in ("completed", "judged", "on_time", "late", "open_red",
                                                    "avg_working_days")}}
    query = sa.select(who, *(column.label(name) for name, column in columns.items())) \
        .select_from(took_part).join(HC, HC.instance_id == took_part.c.instance_id) \
        .join(PI, PI.id == HC.instance_id).where(*where).group_by(who)
    raw = {row["username"]: dict(row) for row in db.session.execute(query).mappings()}

    low = dt.datetime.combine(period.start, dt.time(), SHANGHAI)
    high = dt.datetime.combine(period.end + dt.timedelta(days=1), dt.time(), SHANGHAI)
    taken_back = sa.select(CaseEvent.task_id).where(CaseEvent.kind == "taken_back", CaseEvent.task_id.is_not(None))
    steps = sa.select(UserTask.completed_by, UserTask.created_at, UserTask.completed_at, UserTask.due_at).where(
        UserTask.state == "completed", UserTask.completed_by.is_not(None),
        UserTask.completed_at >= low, UserTask.completed_at < high,
        UserTask.id.not_in(taken_back))  # a step its clerk took back (撤回) counts once, when done again
    if departments is not None:
        steps = steps.join(HC, HC.instance_id == UserTask.instance_id).where(HC.department_code.in_(departments))
    calendar = workday_calendar()
    step_figures: dict[str, dict] = {}
    for username, created, completed, due in db.session.execute(steps):
        mine = step_figures.setdefault(username, {"count": 0, "days": 0, "late": 0})
        mine["count"] += 1
        mine["days"] += calendar.working_days_between(as_utc(created).astimezone(SHANGHAI).date(),
                                                      as_utc(completed).astimezone(SHANGHAI).date())
        mine["late"] += int(due is not None and as_utc(completed) > as_utc(due))

    # User.department_codes reads each window by number and the posts: load both once, not once per person
    windows = db.session.scalars(sa.select(Window)).all()  # noqa: F841  (kept in the identity map)
    people = db.session.scalars(sa.select(User).options(selectinload(User.posts))).all()
    wanted = None if departments is None else set(departments)
    items = []
    for person in people:
        active = person.username in raw or person.username in step_figures
        own = person.department_codes
        in_scope = wanted is None or bool(wanted & set(own)) or active
        if not in_scope or not (active or (person.active and "clerk" in person.roles)):
            continue
        item = {"username": person.username, "name": person.name, "window_no": person.window_no,
                "department": own[0] if own else None, "department_name": names.get(own[0]) if own else None,
                "posts": person.post_names}
        item.update(_clerk_figures(raw.get(person.username), step_figures.get(person.username), thresholds))
        items.append(item)
    items.sort(key=lambda i: (i["department"] is None, i["department"] or "", i["window_no"] is None,
                              i["window_no"] or 0, i["username"]))
    return {**header, "departments": departments, "items": items}


def _clerk_figures(raw: dict | None, steps: dict | None, thresholds) -> dict:
    raw, steps = raw or {}, steps or {"count": 0, "days": 0, "late": 0}
    count = {name: int(raw.get(name) or 0) for name in (
        "cases", "received", "accepted", "completed", "judged", "on_time", "late", "open_red")}
    rate = 100.0 * count["on_time"] / count["judged"] if count["judged"] else None
    return {"received": count["received"], "accepted": count["accepted"], "cases": count["cases"],
            "completed": count["completed"], "on_time": count["on_time"], "on_time_rate": _rounded(rate),
            "avg_working_days": _rounded(raw.get("avg_working_days")),
            "overdue": count["late"] + count["open_red"], "grade": grade(rate, thresholds),
            "steps_completed": steps["count"], "steps_late": steps["late"],
            "avg_step_working_days": _rounded(steps["days"] / steps["count"]) if steps["count"] else None}
