"""办件查询 and the applicant library (申请人库): cases found by number, applicant, ID number, phone, business key,
matter, department, state and date of receipt — finished cases too — within what the caller may see
(people.access.case_scope). Every filter is an indexed column of `process_instance` or `case_intake`; case data
(the JSON) is never searched.

Identifier filters (ID number, phone) are for those who serve applicants or read identifiers in full — clerks,
supervisors, 中心督查, admin; ops (who read every case with identifiers masked) may not probe them (403).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, fields, replace

import sqlalchemy as sa
from sqlalchemy.orm import defer

from ...caches import app_cache
from ...clock import SHANGHAI, as_utc, now
from ...errors import Forbidden, Invalid
from ...extensions import db
from ...instances.models import STATES, CaseParty
from ...people import access
from ...people.auth import Principal
from . import fields as hall

MIN_NAME = 1  # characters of a name prefix (a one-character surname is a real query)


@dataclass
class Filters:
    """What 办件查询 asks for; None: not asked."""

    case_number: str | None = None  # exact, or its beginning
    applicant: str | None = None  # the applicant's name (or its beginning), or the agent's
    id_number: str | None = None  # the applicant's or the agent's ID number, exact
    phone: str | None = None  # the applicant's or the agent's phone, exact
    business_key: str | None = None
    matter: str | None = None  # matter code
    key: str | None = None  # process key
    department: str | None = None
    state: str | None = None
    received_from: dt.date | None = None  # 收件 day (Asia/Shanghai), both ends included
    received_to: dt.date | None = None
    started_by: str | None = None
    owner: str | None = None

    def any(self) -> bool:
        return any(getattr(self, f.name) not in (None, "") for f in fields(self))


def normal_id(value: str) -> str:
    return re.sub(r"\s", "", value or "").upper()


def normal_phone(value: str) -> str:
    return re.sub(r"\s", "", value or "")


def _prefix(column, text: str) -> sa.ColumnElement:
    """`column` begins with `text`, in a form each database answers from a plain index: a code-point range on
    SQLite (BINARY collation), LIKE on PostgreSQL (the migration adds varchar_pattern_ops indexes)."""
    if db.engine.dialect.name == "sqlite":
        return sa.and_(column >= text, column < text + "\U0010ffff")
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.like(escaped + "%", escape="\\")


def _day_start(day: dt.date) -> dt.datetime:
    return as_utc(dt.datetime.combine(day, dt.time(), tzinfo=SHANGHAI))


def check(user: Principal, filters: Filters) -> None:
    if (filters.id_number or filters.phone) and user.is_("ops") and not user.is_(*access.READ_IN_FULL):
        raise Forbidden("运维人员不能按证件号码或联系电话查询办件（申请人身份信息对运维屏蔽）",
                        {"filters": [n for n in ("id_number", "phone") if getattr(filters, n)]})
    if filters.state is not None and filters.state not in STATES:
        raise Invalid(f"办件状态应为以下之一：{'、'.join(STATES)}", {"state": filters.state})
    if filters.received_from and filters.received_to and filters.received_from > filters.received_to:
        raise Invalid(f"开始日期 {filters.received_from} 晚于结束日期 {filters.received_to}",
                      {"from": str(filters.received_from), "to": str(filters.received_to)})


def query(user: Principal, filters: Filters, *, scoped: bool = True) -> sa.Select:
    """The cases matching `filters` that `user` may see (`scoped` False: that anyone may see)."""
    check(user, filters)
    case = hall.CASE
    intake = hall.INTAKE
    statement = hall.with_hall(sa.select(case))
    scope = access.case_scope(user) if scoped else None
    if scope is not None:
        statement = statement.where(scope)
    if filters.case_number:
        number = filters.case_number.strip().upper()
        statement = statement.where(_prefix(hall.case_number_column(), number))
    if filters.business_key:
        statement = statement.where(case.business_key == filters.business_key.strip())
    if filters.matter:
        statement = statement.where(hall.matter_code_column() == filters.matter.strip())
    if filters.key:
        statement = statement.where(case.process_key == filters.key)
    if filters.department:
        statement = statement.where(case.department_code == filters.department)
    if filters.state:
        statement = statement.where(case.state == filters.state)
    if filters.started_by:
        statement = statement.where(case.started_by == filters.started_by)
    if filters.owner:
        statement = statement.where(hall.owner_column() == filters.owner)
    if filters.received_from:
        statement = statement.where(case.started_at >= _day_start(filters.received_from))
    if filters.received_to:
        statement = statement.where(case.started_at < _day_start(filters.received_to + dt.timedelta(days=1)))
    # the applicant's filters: each an indexed lookup in case_intake, applied as "case id in (...)"
    if filters.applicant and filters.applicant.strip():
        name = filters.applicant.strip()
        statement = statement.where(case.id.in_(
            sa.select(intake.instance_id).where(_prefix(intake.applicant_name, name)).union(
                sa.select(intake.instance_id).where(_prefix(intake.agent_name, name)))))
    if filters.id_number:
        number = normal_id(filters.id_number)
        statement = statement.where(case.id.in_(
            sa.select(intake.instance_id).where(intake.id_number == number).union(
                sa.select(intake.instance_id).where(intake.agent_id_number == number))))
    if filters.phone:
        phone = normal_phone(filters.phone)
        statement = statement.where(case.id.in_(
            sa.select(intake.instance_id).where(intake.phone == phone).union(
                sa.select(intake.instance_id).where(intake.agent_phone == phone))))
    return statement


COUNT_CAP = 10_000  # matches counted at most; beyond, the total says "more than 10,000" (narrow the filters)
# A department found past the cap is not counted again for a while: its list's total is "more than 10,000" whatever
# came since (cases are not deleted), and counting to the cap is most of a big department's page.
CROWDED_FOR = dt.timedelta(minutes=5)


def find(user: Principal, filters: Filters, *, limit: int = 50, offset: int = 0, summary: bool = False,
         after: tuple[dt.datetime, str] | None = None) -> tuple[list, int]:
    """One page of the matching cases, newest first, and how many match — up to COUNT_CAP + 1 (more: the total
    is a lower bound); never their engine state, and with `summary` not their data either. `after`: the page
    after the case (started_at, id) that ended the previous one (keyset paging: no rows skipped over)."""
    case = hall.CASE
    deferred = [defer(case.engine_state), *([defer(case.data)] if summary else [])]
    sources = access.case_sources(user)
    if sources is None:
        statement = query(user, filters)
        total = _crowded(("*",), filters.any(), lambda: _capped(statement))
        statement = _after(statement, case.started_at, case.id, after)
    else:  # the page is the newest of each source's newest: every walk reads its own index, nothing else
        sources = _without_empty_parties(sources)
        base = query(user, filters, scoped=False)
        total = _count(user, sources, base, filtered=filters.any())
        walks = sa.union(*_walks(base, sources, after, limit + offset))
        statement = sa.select(case).where(case.id.in_(walks))
    rows = db.session.scalars(statement.options(*deferred).order_by(case.started_at.desc(), case.id)
                              .limit(limit).offset(offset))
    return list(rows), total


def _after(statement: sa.Select, started, ident, after: tuple[dt.datetime, str] | None) -> sa.Select:
    """The rows after the case (started_at, id) that ended the previous page: newest first, then by id."""
    if after is None:
        return statement
    at, last = after
    return statement.where(sa.or_(started < at, sa.and_(started == at, ident > last)))


def _without_empty_parties(sources: access.CaseSources) -> access.CaseSources:
    """The sources without the case_party names no case has (the backup posts of a clerk who holds many are mostly
    empty): one probe of the party index each, in one statement, instead of a walk each in the page's."""
    if len(sources.parties) <= 2:  # the user and one post: as cheap to walk as to probe
        return sources
    probes = [sa.select(sa.literal(party, sa.String)).where(sa.exists().where(CaseParty.party == party))
              for party in sources.parties]
    found = set(db.session.scalars(sa.union_all(*probes)))
    return replace(sources, parties=tuple(p for p in sources.parties if p in found))


def _walks(base: sa.Select, sources: access.CaseSources, after: tuple[dt.datetime, str] | None,
           n: int) -> list[sa.Select]:
    """The ids of the `n` newest matching cases of each source (after `after`): one ordered index walk each —
    a department's cases, the user's own starts, each of their case_party names, and the open tasks passing by
    their posts (a few rows, sorted)."""
    case = hall.CASE

    def walk(select: sa.Select, started, ident) -> sa.Select:
        select = _after(select, started, ident, after)
        inner = select.with_only_columns(ident.label("id")).order_by(started.desc(), ident).limit(n).subquery()
        return sa.select(inner.c.id)

    walks = [walk(base.where(case.department_code == code), case.started_at, case.id)
             for code in sources.departments]
    walks.append(walk(base.where(case.started_by == sources.started_by), case.started_at, case.id))
    walks += [walk(base.where(CaseParty.party == party, CaseParty.instance_id == case.id),
                   CaseParty.started_at, CaseParty.instance_id) for party in sources.parties]
    passing = sources.passing.distinct().subquery()
    walks.append(walk(base.join(passing, passing.c.instance_id == case.id), case.started_at, case.id))
    return walks


def next_cursor(items: list) -> str:
    """The keyset cursor after a page's last case: its start time and id."""
    last = items[-1]
    return f"{as_utc(last.started_at).isoformat()},{last.id}"


def cursor(text: str) -> tuple[dt.datetime, str]:
    at, _, last = text.rpartition(",")
    try:
        return as_utc(dt.datetime.fromisoformat(at)), last
    except ValueError:
        raise Invalid("分页游标 after 无效：请使用上一页返回的 next", {"after": text}) from None


def _capped(statement: sa.Select) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(
        statement.order_by(None).limit(COUNT_CAP + 1).subquery())) or 0


def _count(user: Principal, sources: access.CaseSources, base: sa.Select, *, filtered: bool) -> int:
    """How many of the `base` cases the user may see, up to COUNT_CAP + 1. The cases of their own departments
    are counted first, from the department index: past the cap, the whole count is not needed."""
    if sources.departments:
        own = _crowded(sources.departments, filtered,
                       lambda: _capped(base.where(hall.CASE.department_code.in_(sources.departments))))
        if own > COUNT_CAP:
            return own
    elif db.engine.dialect.name == "postgresql":  # only the part they took: an estimate past the cap
        if filtered:
            scoped = base.where(access.case_scope(user))
            guess = _estimate(sa.select(sa.func.count()).select_from(scoped.order_by(None).subquery()))
        else:  # what their sources hold, each estimated apart (three small statements to plan, not the scope)
            taken = sa.union_all(sa.select(CaseParty.instance_id).where(CaseParty.party.in_(sources.parties)),
                                 sa.select(hall.CASE.id).where(hall.CASE.started_by == sources.started_by),
                                 sources.passing)
            guess = _estimate(sa.select(sa.func.count()).select_from(taken.subquery()))
        if guess > COUNT_CAP:
            return Estimated(guess)
    walks = sa.union(*_walks(base, sources, None, COUNT_CAP + 1)).subquery()
    return min(db.session.scalar(sa.select(sa.func.count()).select_from(walks)) or 0, COUNT_CAP + 1)


def _crowded(departments: tuple[str, ...], filtered: bool, count) -> int:
    """`count()`, unless these departments' whole list (no filter) was found past the cap a moment ago."""
    crowded = app_cache("search.crowded", dict)  # (departments, cap) -> when their list was found past the cap
    key = (departments, COUNT_CAP)
    if not filtered:
        seen = crowded.get(key)
        if seen is not None and now() - seen < CROWDED_FOR:
            return COUNT_CAP + 1
    found = count()
    if found > COUNT_CAP and not filtered:
        crowded[key] = now()
    return found


class Estimated(int):
    """A total the planner estimated: over the cap, for someone whose cases are only those they took part in
    (counting them would probe every case's tasks); the answer says so (`total_estimated`)."""


def _estimate(statement: sa.Select) -> int:
    """PostgreSQL's estimate of the rows the statement's scan of cases yields (EXPLAIN, not run)."""
    compiled = statement.compile(db.engine, compile_kwargs={"render_postcompile": True})
    plan = db.session.connection().exec_driver_sql(f"EXPLAIN (FORMAT JSON) {compiled}", compiled.params).scalar()
    node = plan[0]["Plan"]
    while node.get("Plans") and node.get("Node Type") in ("Aggregate", "Limit", "Subquery Scan", "Gather",
                                                          "Result"):
        node = node["Plans"][0]
    return int(node.get("Plan Rows", 0))


def applicants_of(instance_ids: list[str]) -> dict[str, dict]:
    """The intake rows' applicants of these cases (one query), by case id."""
    from ..intake import applicant_of

    if not instance_ids:
        return {}
    rows = db.session.scalars(sa.select(hall.INTAKE).where(hall.INTAKE.instance_id.in_(instance_ids)))
    return {row.instance_id: applicant for row in rows if (applicant := applicant_of(row)) is not None}


# -- the applicant library (申请人库) ---------------------------------------------------------------------------
LIBRARY_SCAN = 60  # recent intake rows read to find the distinct applicants offered


def library(user: Principal, text: str, *, limit: int = 8) -> list[dict]:
    """Applicants recorded at earlier intakes whose ID number or name begins with `text`, most recent first, one
    per applicant — from the cases the user may see; identifiers masked where the user does not handle the case
    (people.access), so the page fills in only what may be shown."""
    text = (text or "").strip()
    if len(text) < 2:
        return []
    intake, case = hall.INTAKE, hall.CASE
    number = normal_id(text)
    matches = [_prefix(intake.applicant_name, text)]
    if re.fullmatch(r"[0-9A-Z()\-]{2,64}", number) and not (user.is_("ops") and not user.is_(*access.READ_IN_FULL)):
        matches.append(_prefix(intake.id_number, number))
    statement = sa.select(intake, case).join(case, case.id == intake.instance_id).where(
        sa.or_(*matches), intake.applicant_name.is_not(None))
    scope = access.case_scope(user)
    if scope is not None:
        statement = statement.where(scope)
    rows = db.session.execute(statement.order_by(case.started_at.desc(), case.id).limit(LIBRARY_SCAN)).all()
    handled = access.handled(user, [c for _, c in rows])
    from ..intake import applicant_of

    seen: set[tuple] = set()
    out: list[dict] = []
    for row, instance in rows:
        applicant = applicant_of(row)
        who = (applicant.get("kind"), applicant.get("id_type"), applicant.get("id_number"), applicant.get("name"))
        if who in seen:
            continue
        seen.add(who)
        if instance.id not in handled:
            applicant = access.mask(applicant)
        out.append({**applicant, "last_case": hall.case_number(instance) or instance.id,
                    "last_received": as_utc(instance.started_at).astimezone(SHANGHAI).date().isoformat(),
                    "masked": instance.id not in handled})
        if len(out) >= limit:
            break
    return out
