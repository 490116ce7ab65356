"""The case clock (办件计时): a matter case's two clocks — the decision's and the delivery's — kept on the hall's
own row (`hall_case`), moved by the events of the case's legal course (app/hall/course.py).

The hall's step hook calls `on_step` once per step, before the runtime writes its rows; what changes lands in the
same transaction, in the hall's row only. For cases that are not a catalogued matter's it returns at once: the
matter lookup is done once per definition version and kept in memory.

* 收件 (received): the matter's promised limit (绿色通道: `max(1, floor(promised × TONGBAN_GREEN_CHANNEL_RATIO))`,
  0 stays 0); until the case is accepted its due date is provisional, counted from the receipt.
* 受理 (accepted) or 视为受理 (Art. 32: no supplement notice within 5 working days — accepted on the receipt
  date): the limit counts from here, `due_date = add_working_days(accepted_on, promised + extended + paused)`.
* Pauses: while a task the diagram declares as pausing is open (`hall.pause`): the supplement check, where the
  case waits for the applicant before it is accepted, and special procedures (Art. 45), whose working days move
  the due date.
* 决定 (decided): the decision clock stops — `on_time` and `working_days_used` are the decision's, the case's
  light goes out; the delivery clock starts (Art. 44: delivered within 10 working days of the decision).
* 办结 (closed): the process ended; escalation steps still open end with it (`course_ended`). The outcome is the
  decision (准予, 不予许可, 上级准予…), or 不予受理, 补正超时终止, 撤销 — never merely "completed".

Every start, acceptance, pause, resume, decision and stop is a `clock_event` row with the due date it leaves.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from flask import current_app

from ...audit import service as audit
from ...caches import app_cache, bump_generation, shared_generation
from ...calendar import service as calendar
from ...clock import SHANGHAI, as_utc
from ...definitions import service as definitions
from ...extensions import db
from ...matters.service import GENERATION  # the shared generation of the matter catalog
from .. import cases, course
from .. import vocabulary as hall
from ..models import HallCase
from ..vocabulary import OUTCOME_NAMES
from .models import ClockEvent, SupervisionWarning

# warnings that describe the case's state: they close when the case closes (a broken rule stays until handled)
CLOSE_WITH_CASE = ("case_yellow", "case_red", "step_yellow", "step_red", "late_first_review", "special_overdue",
                   "late_delivery", "late_supplement_notice")


@dataclass(frozen=True)
class MatterInfo:
    """What the clock and supervision need of a matter, kept in memory per definition version."""

    code: str
    name: str
    kind: str
    department_code: str
    supervise_post: str | None  # the department's {short}督查岗
    promised_days: int
    green_channel: bool
    effective_from: date | None = None
    cancelled_on: date | None = None
    forward_clock: str | None = None  # 上报件: end | pause at forwarding, where the diagram does not say
    type: str = "行政许可"  # 事项类型: which instruments its notices are
    higher_authority: str | None = None  # 上报件: the deciding authority
    special_procedures: tuple = ()  # the record's special procedures: name, max_days, basis (a local rule)
    version: int | None = None  # the record's version in force (matter_version)
    pending: tuple = ()  # versions taking effect later: (version, effective_from, promised_days), oldest first

    def limit_on(self, day: date) -> tuple[int | None, int]:
        """(version, promised days) of the record in force on a receipt date: a pending version whose date has
        come counts before the periodic job makes it the matter row's record."""
        version, promised = self.version, self.promised_days
        for number, effective_from, days in self.pending:
            if effective_from <= day:
                version, promised = number, days
        return version, promised


class _MatterCache:
    """definition id -> (compiled process, generation, info); a change to the catalog, on any server process,
    starts a generation (caches.bump_generation), so no worker gives a new case an old promised limit."""

    def __init__(self) -> None:
        self.entries: dict[int, tuple[object, int, MatterInfo | None]] = {}


_lock = threading.Lock()


def _matters() -> _MatterCache:
    return app_cache("supervision.matters", _MatterCache)  # per app (app.extensions): a fresh app starts clean


def forget_matters() -> None:
    """A matter record changed (in the caller's transaction): every server process looks matters up again."""
    bump_generation(GENERATION)
    cache = _matters()
    with _lock:
        cache.entries.clear()


def matter_for(definition_id: int, process_key: str) -> MatterInfo | None:
    """The matter whose diagram this definition version is, or None; one query per version and catalog change,
    then from memory (plus a primary-key read of the catalog's generation per request).

    The entry is tied to the compiled process object, so a version compiled anew (another database in tests,
    a cleared cache) is looked up again.
    """
    process = definitions.compiled_by_id(definition_id)
    cache = _matters()
    generation = shared_generation(GENERATION)
    entry = cache.entries.get(definition_id)
    if entry is not None and entry[0] is process and entry[1] == generation:
        return entry[2]
    info = _lookup(process_key)
    with _lock:
        cache.entries[definition_id] = (process, generation, info)
    return info


def _lookup(process_key: str) -> MatterInfo | None:
    from ...matters.models import Matter, MatterVersion
    from ...people.models import Post

    with db.session.no_autoflush:
        row = db.session.execute(
            sa.select(Matter.code, Matter.name, Matter.kind, Matter.department_code, Matter.promised_days,
                      Matter.green_channel, Post.name, Matter.effective_from, Matter.cancelled_on, Matter.record,
                      Matter.type, Matter.higher_authority, Matter.special_procedures, Matter.version)
            .outerjoin(Post, sa.and_(Post.department_code == Matter.department_code, Post.kind == "supervise"))
            .where(Matter.process_key == process_key).order_by(Matter.code).limit(1)).first()
        if row is None:
            return None
        pending = tuple(tuple(p) for p in db.session.execute(
            sa.select(MatterVersion.version, MatterVersion.effective_from, MatterVersion.promised_days)
            .where(MatterVersion.matter_code == row[0], MatterVersion.applied_at.is_(None))
            .order_by(MatterVersion.version)))
    code, name, kind, department, promised, green, post, effective_from, cancelled_on, record, type_, higher, \
        special, version = row
    forward = (record or {}).get("forward_clock") if isinstance(record, dict) else None
    return MatterInfo(code, name, kind, department, post, promised or 0, bool(green), effective_from, cancelled_on,
                      forward, type_ or "行政许可", higher, tuple(p for p in special or () if isinstance(p, dict)),
                      version, pending)


# -- settings ----------------------------------------------------------------------------------------------------
def green_channel_days(promised: int) -> int:
    """A green-channel case's own, shorter limit: a share of the promised days, at least one (0 stays 0)."""
    if promised <= 0:
        return 0
    ratio = float(current_app.config.get("GREEN_CHANNEL_RATIO", 0.5))
    return max(1, min(promised, math.floor(promised * ratio)))


def local_date(at: datetime) -> date:
    return as_utc(at).astimezone(SHANGHAI).date()


def due_date(counted_from: date, promised_days: int, paused_days: int, cal=None, extended_days: int = 0) -> date:
    cal = cal or calendar.workday_calendar()
    return cal.add_working_days(counted_from, promised_days + (extended_days or 0) + paused_days).date


def case_due_date(case: HallCase, cal=None) -> date:
    """The case's due date now: from its acceptance (before it, provisionally from its receipt), its limit, the
    extension granted (Art. 42) and the working days paused in special procedures (Art. 45)."""
    return due_date(case.accepted_on or case.received_on, case.promised_days or 0, case.paused_days or 0, cal,
                    case.extended_days or 0)


def district_clock_ended(case: HallCase) -> bool:
    """上报件 (Art. 43): the district's clock ended when the case was forwarded (the higher authority's time
    is its own)."""
    return case.forwarded_at is not None and case.forward_clock == hall.ForwardClock.END


def decision_clock_stopped(case: HallCase) -> bool:
    return case.decided_at is not None or district_clock_ended(case) or not case.is_open



# -- the hook ----------------------------------------------------------------------------------------------------
def on_step(step) -> None:
    """Bring the case's clocks up to date with a step and keep the course's events (a before-flush hook).

    Cost: nothing for cases that are not a matter's (one lookup per version, then memory); for a matter's case,
    its hall row read once, locked, and written only when something changed.
    """
    case = cases.for_step(step)
    if step.is_new:
        matter = matter_for(step.instance.definition_id, step.instance.process_key)
        if matter is None:
            return
        case = cases.start(step, _start(step, matter))
    if case is None:
        return
    if case.matter_code is None:  # the hall keeps only the owner of a case of no matter, until it ends
        if case.is_open and (step.after.state == "completed" or step.action in course.ENDING_ACTS):
            case.is_open, case.closed_at = False, step.at
        return
    events = course.derive(step, case)
    for event in events:
        _apply(step, case, event)
    events += _pauses(step, case)
    course.keep(step, events)


def write(step) -> None:
    """After the runtime's rows are written: the new case's hall row, the clock's history and the course."""
    cases.insert_new(step)
    pending = step.plugin_rows.pop(_PENDING, [])
    if pending:
        db.session.connection().execute(_INSERT_EVENTS, pending)
    course.write(step)


_PENDING = "hall.clock_events"
_INSERT_EVENTS = ClockEvent.__table__.insert()  # Core, built once: every step of a matter's case may write some


def _event(step_or_none, case: HallCase, at: datetime, kind: str, *, reason: str | None = None,
           element_id: str | None = None, working_days: int | None = None) -> None:
    row = {"instance_id": case.instance_id, "at": at, "kind": kind, "reason": (reason or "")[:200] or None,
           "element_id": element_id, "working_days": working_days, "due_date": case.due_date}
    if step_or_none is not None:
        step_or_none.plugin_rows.setdefault(_PENDING, []).append(row)
    else:
        db.session.connection().execute(_INSERT_EVENTS, [row])


def _start(step, matter: MatterInfo) -> HallCase:
    at, data = step.at, step.after.data or {}
    wanted = bool(data.get("green_channel"))
    green = wanted and matter.green_channel
    received = local_date(at)
    version, limit = matter.limit_on(received)  # the record in force on the receipt date
    promised = green_channel_days(limit) if green else limit
    case = HallCase(instance_id=step.case_id, matter_code=matter.code, matter_version=version,
                    department_code=matter.department_code,
                    business_key=step.instance.business_key, is_open=True, green_channel=green, received_at=at,
                    received_on=received, promised_days=promised, paused_days=0, supplement_count=0,
                    extended_days=0, accepted_on_receipt=False,
                    due_date=due_date(received, promised, 0), light="green")  # a case never starts yellow
    reason = f"收件，承诺时限 {promised} 个工作日（自受理之日起计算）"
    if green:
        reason += f"（绿色通道，原 {limit} 个工作日）"
    elif wanted:
        reason += "（该事项未开通绿色通道，按承诺时限计）"
    _event(step, case, at, "start", reason=reason)
    return case


def _apply(step, case: HallCase, event: course.Event) -> None:
    at, kind = event.at, event.kind
    if kind == "supplement_notice":
        case.supplement_count = (case.supplement_count or 0) + 1
        if not case.accepted_on_receipt and case.accepted_on is None \
                and local_date(at) > supplement_notice_deadline(case):
            accept_on_receipt(case, event.task_id, event.element_id, at, step=step)
    elif kind == "accepted":
        _accepted(step, case, at, event.element_id)
    elif kind == "decided":
        _decided(step, case, event)
    elif kind == "not_accepted":
        _answered(step, case, at, hall.Outcome.NOT_ACCEPTED, event.element_id)
    elif kind == "supplement_timeout":
        _answered(step, case, at, hall.Outcome.SUPPLEMENT_TIMEOUT, event.element_id, judged=False)
    elif kind == "forwarded":
        matter = matter_for(step.instance.definition_id, step.instance.process_key)
        properties = step.process.element_properties(event.element_id) if event.element_id else {}
        mode = properties.get(hall.FORWARD_CLOCK) or (matter.forward_clock if matter else None) or hall.ForwardClock.END
        _forwarded(step, case, mode, event.element_id, at)
        event.data.setdefault("deciding_authority", matter.higher_authority if matter else None)
    elif kind == "higher_replied":
        _replied(step, case, at)
    elif kind == "delivered":
        case.delivered_at = at
        if case.delivery_due is not None and local_date(at) > case.delivery_due:
            _late_delivery(case, event, at)
    elif kind in ("cancelled", "withdrawn"):
        if case.outcome is None:
            case.outcome = kind
    elif kind == "closed":
        _closed(step, case, event)
    if kind == "decided" and event.data.get("decision") == hall.Outcome.REFUSED and not event.data.get("higher"):
        reasons = event.data.get("reasons")
        if not (isinstance(reasons, str) and reasons.strip()):
            _refusal_without_reasons(case, event, at)


def _accepted(step, case: HallCase, at: datetime, element_id: str | None) -> None:
    """受理: the limit counts from today; waits before it (the supplement) are not the agency's time."""
    if case.paused_since is not None:  # the supplement wait ends with the acceptance: it does not count
        waited = calendar.workday_calendar().working_days_between(local_date(case.paused_since), local_date(at))
        case.paused_since = None
        _event(step, case, at, "resume", element_id=element_id, working_days=waited,
               reason=f"申请人补正材料，等待 {waited} 个工作日（受理前，不计入办理时限）")
    case.accepted_on = local_date(at)
    case.paused_days = 0
    case.due_date = case_due_date(case)
    _event(step, case, at, "accept", element_id=element_id,
           reason=f"受理，办理时限 {case.promised_days or 0} 个工作日自今日起计算（《行政许可法》第四十二条）")


def _working_days(case: HallCase, until: date, cal=None) -> int:
    cal = cal or calendar.workday_calendar()
    since = case.accepted_on or case.received_on
    return max(0, cal.working_days_between(since, until) - (case.paused_days or 0))


def _decided(step, case: HallCase, event: course.Event) -> None:
    """决定: the decision clock stops here; the delivery clock (Art. 44) starts."""
    at = event.at
    if case.paused_since is not None:  # a pause that ends with the decision (the higher authority's reply)
        _resume(step, case, None, at)
    decision = event.data.get("decision")
    matter = matter_for(step.instance.definition_id, step.instance.process_key)
    higher = bool(event.data.get("higher"))
    authority = (matter.higher_authority if higher and matter else None) or _department_name(case.department_code)
    event.data["deciding_authority"] = authority
    case.decided_at, case.decided_by, case.deciding_authority = at, event.actor, authority
    case.decision = decision
    if decision in course.DECIDING_OUTCOMES:
        case.outcome = decision
    decided_on = local_date(at)
    cal = calendar.workday_calendar()
    if not district_clock_ended(case):
        case.working_days_used = _working_days(case, decided_on, cal)
        case.on_time = decided_on <= case.due_date
    lit, case.light = case.light, None
    case.delivery_due = cal.add_working_days(decided_on, hall.DELIVERY_DAYS).date
    _event(step, case, at, "decide", element_id=event.element_id, working_days=case.working_days_used,
           reason=f"作出决定：{OUTCOME_NAMES.get(decision, '决定')}（{authority}），办理计时结束；"
                  f"应于 {case.delivery_due.isoformat()} 前送达（《行政许可法》第四十四条）")
    _close_case_lights(case, lit, at, "已作出决定，办理计时结束")


def _answered(step, case: HallCase, at: datetime, outcome: str, element_id: str | None, judged: bool = True) -> None:
    """不予受理 (the agency's answer to the application) or 补正超时终止 (the applicant did not supplement, no
    answer of the agency: no verdict either). The applicant's supplement wait is not the agency's time: an answer
    given the day the applicant came back is judged on the days the agency had the application."""
    today = local_date(at)
    cal = calendar.workday_calendar()
    waited = case.paused_days or 0
    if case.paused_since is not None:
        waited += cal.working_days_between(local_date(case.paused_since), today)
        case.paused_since = None
    case.outcome = outcome
    case.paused_days = waited
    case.due_date = due_date(case.received_on, case.promised_days or 0, waited, cal)
    if judged:
        case.decided_at, case.decision = at, outcome
        case.working_days_used = max(0, cal.working_days_between(case.received_on, today) - waited)
        case.on_time = today <= case.due_date
    lit, case.light = case.light, None
    _event(step, case, at, "stop", element_id=element_id, working_days=case.working_days_used,
           reason=OUTCOME_NAMES.get(outcome, outcome))
    _close_case_lights(case, lit, at, OUTCOME_NAMES.get(outcome, outcome))


def _closed(step, case: HallCase, event: course.Event) -> None:
    at = event.at
    if case.outcome is None:  # no decision recorded: what the end says, else only that it ended
        case.outcome = event.data.get("outcome") or "closed"
    # no decision to judge: ended by the agency or the applicant (撤销, 撤件), or unsupplemented (补正超时终止,
    # counted apart from decisions)
    unjudged = ("cancelled", "withdrawn", hall.Outcome.SUPPLEMENT_TIMEOUT)
    if not decision_clock_stopped(case) and case.outcome not in unjudged:
        closed = local_date(at)
        if case.paused_since is not None:
            _resume(step, case, None, at)
        case.working_days_used = _working_days(case, closed)
        case.on_time = closed <= case.due_date
    case.paused_since = None
    case.is_open, case.closed_at, case.light = False, at, None
    _event(step, case, at, "stop", reason=f"办结：{OUTCOME_NAMES.get(case.outcome, case.outcome)}",
           element_id=event.element_id, working_days=case.working_days_used)
    db.session.connection().execute(_CLOSE_CASE_WARNINGS, {
        "case_id": case.instance_id, "at": at,
        "why": {"cancelled": "办件已撤销", "withdrawn": "办件已撤件"}.get(case.outcome, "办件已办结")})


# built once: every ending case runs it (building a statement costs SQLAlchemy more than running it)
_CLOSE_CASE_WARNINGS = (
    sa.update(SupervisionWarning)
    .where(SupervisionWarning.instance_id == sa.bindparam("case_id"), SupervisionWarning.state == "open",
           SupervisionWarning.kind.in_(CLOSE_WITH_CASE))
    .values(state="closed", closed_at=sa.bindparam("at"), note=sa.bindparam("why")))


def _close_case_lights(case: HallCase, light: str | None, at: datetime, note: str) -> None:
    """The case's light warnings close as its clock ends; there are none unless its light was past green (a
    light and its warnings change together)."""
    if light not in ("yellow", "red"):
        return
    db.session.connection().execute(
        sa.update(SupervisionWarning)
        .where(SupervisionWarning.instance_id == case.instance_id, SupervisionWarning.state == "open",
               SupervisionWarning.kind.in_(("case_yellow", "case_red")))
        .values(state="closed", closed_at=at, note=note))


def _department_name(code: str | None) -> str | None:
    """The deciding department's legal name (hall.yaml), else its name."""
    if code is None:
        return None
    from ...people.absences import department_info

    with db.session.no_autoflush:
        department = department_info(code)
    return (department.legal_name or department.name) if department else code


def _refusal_without_reasons(case: HallCase, event: course.Event, at: datetime) -> None:
    """Art. 38: a refusal must state its reasons. Flagged red, to the department's supervisor, at once."""
    from . import service

    _rule_warning(case, event.task_id, event.element_id, "refusal_without_reasons", "red", at,
                  service.refusal_message(_matter_name(case), case))


def _matter_name(case: HallCase) -> str:
    from ...matters.models import Matter

    with db.session.no_autoflush:
        return db.session.scalar(sa.select(Matter.name).where(Matter.code == case.matter_code)) or case.matter_code


# -- hall-rules: the law's limits (行政许可法 Art. 32, 42, 43, 44) -----------------------------------------------
def supplement_notice_deadline(case: HallCase, cal=None) -> date:
    """Art. 32: the supplement notice within 5 working days of receipt."""
    return supplement_notice_due(case.received_on, cal)


def supplement_notice_due(received_on: date, cal=None) -> date:
    cal = cal or calendar.workday_calendar()
    return cal.add_working_days(received_on, hall.SUPPLEMENT_NOTICE_DAYS).date


def delivery_deadline(case: HallCase, cal=None) -> date:
    """Art. 44: delivered within 10 working days of the decision."""
    if case.delivery_due is not None:
        return case.delivery_due
    cal = cal or calendar.workday_calendar()
    return cal.add_working_days(local_date(case.decided_at), hall.DELIVERY_DAYS).date


def delivery_message(case: HallCase, deadline: date, *, delivered: bool) -> str:
    what = "送达超过" if delivered else "决定后超过"
    return (f"办件 {case.case_number or case.business_key or case.instance_id[:8]} {what} {hall.DELIVERY_DAYS} "
            f"个工作日{'才送达' if delivered else '仍未送达'}（应于 {deadline.isoformat()} 前送达，"
            f"《行政许可法》第四十四条）")


def _late_delivery(case: HallCase, event: course.Event, at: datetime) -> None:
    """Delivered after the Art. 44 limit: one warning per delivery step. The sweep's "not delivered yet" warning,
    if it came first, now says when it was delivered; otherwise one is raised now."""
    deadline = delivery_deadline(case)
    message = delivery_message(case, deadline, delivered=True)
    flagged = db.session.connection().execute(
        sa.update(SupervisionWarning)
        .where(SupervisionWarning.instance_id == case.instance_id, SupervisionWarning.task_id == event.task_id,
               SupervisionWarning.kind == "late_delivery", SupervisionWarning.state == "open")
        .values(message=message)).rowcount
    if not flagged:
        _rule_warning(case, event.task_id, event.element_id, "late_delivery", "red", at, message)


def accept_on_receipt(case: HallCase, task_id: str | None, element_id: str | None, at: datetime, step=None) -> None:
    """Art. 32: no supplement notice within 5 working days: the application counts as accepted on receipt."""
    case.accepted_on_receipt = True
    case.accepted_on = case.received_on
    case.paused_days = 0
    case.paused_since = None
    case.due_date = case_due_date(case)
    deadline = supplement_notice_deadline(case)
    _event(step, case, at, "accepted_on_receipt", element_id=element_id,
           reason=f"补正告知超过 {hall.SUPPLEMENT_NOTICE_DAYS} 个工作日（应于 {deadline.isoformat()} 前），"
                  f"自收到申请之日起即为受理（《行政许可法》第三十二条）")
    event = course.Event("deemed_accepted", at, None, None, task_id, element_id,
                         {"received_on": case.received_on.isoformat(), "notice_deadline": deadline.isoformat()})
    if step is not None:
        course.keep(step, [event])
    else:
        course.record(case.instance_id, event)
    _rule_warning(case, task_id, element_id, "late_supplement_notice", "red", at,
                  f"办件 {case.case_number or case.business_key or case.instance_id[:8]} 未在收件后 "
                  f"{hall.SUPPLEMENT_NOTICE_DAYS} 个工作日内一次性告知补正（应于 {deadline.isoformat()} 前），"
                  f"视为自收件之日起受理（《行政许可法》第三十二条）")


def _rule_warning(case: HallCase, task_id, element_id, kind: str, level: str, at: datetime, message: str) -> None:
    post = _supervise_post(case.department_code)
    db.session.add(SupervisionWarning(instance_id=case.instance_id, task_id=task_id, kind=kind, level=level,
                                      department_code=case.department_code, post=post, message=message,
                                      raised_at=at, state="open"))
    audit.record("supervision.warning", actor=None, instance_id=case.instance_id, task_id=task_id,
                 element_id=element_id, details={"kind": kind, "level": level, "post": post,
                                                 "department": case.department_code, "message": message})


def _supervise_post(department: str | None) -> str | None:
    from ...people.models import Post

    with db.session.no_autoflush:
        return db.session.scalar(sa.select(Post.name).where(Post.department_code == department,
                                                            Post.kind == "supervise").order_by(Post.name).limit(1))


def _forwarded(step, case: HallCase, mode: str, element_id: str | None, at: datetime) -> None:
    """上报 (Art. 43): the district's part ends here; its clock ends (or pauses) and the higher one starts."""
    case.forwarded_at = at
    case.forward_clock = hall.ForwardClock(mode) if mode in tuple(hall.ForwardClock) else hall.ForwardClock.END
    if case.forward_clock == hall.ForwardClock.END:
        today = local_date(at)
        case.working_days_used = _working_days(case, today)
        case.on_time = today <= case.due_date
        lit, case.light = case.light, None
        _event(step, case, at, "forwarded", element_id=element_id, working_days=case.working_days_used,
               reason="上报上级机关，区级计时结束；上级机关的办理时间另计（《行政许可法》第四十三条）")
        _close_case_lights(case, lit, at, "已上报上级机关，区级计时结束")


def _replied(step, case: HallCase, at: datetime) -> None:
    cal = calendar.workday_calendar()
    case.replied_at = at
    days = cal.working_days_between(local_date(case.forwarded_at), local_date(at))
    _event(step, case, at, "reply", working_days=days, reason=f"上级机关答复，上级办理 {days} 个工作日")
# -- end hall-rules ----------------------------------------------------------------------------------------------


def _special(step, properties: dict[str, str], task_name: str | None) -> tuple[str | None, int | None]:
    """A special procedure's basis in law (None: its days count) and its bound in working days (None: none)."""
    matter = matter_for(step.instance.definition_id, step.instance.process_key)
    procedures = list(matter.special_procedures) if matter is not None else []
    return (hall.special_basis(properties, task_name, procedures),
            hall.special_bound(properties, task_name, procedures))


def _pauses_for(step, case: HallCase, task, properties: dict[str, str]) -> str | None:
    pause = hall.pause_of(properties)
    if pause == hall.Pause.SUPPLEMENT and (case.accepted_on_receipt or case.accepted_on is not None):
        return None  # Art. 32: accepted (or counted so): the supplement wait is no longer the applicant's
    if pause == hall.Pause.SPECIAL:
        if task.id == case.pause_task_id and case.paused_since is None:
            return None  # its bound is spent (Art. 45): the days count while it goes on
        if _special(step, properties, task.name)[0] is None:
            return None  # not a procedure Art. 45 lists, and no local rule cited: the days count
    return pause or None


def _pauses(step, case: HallCase) -> list[course.Event]:
    """The clock pauses while a pausing task is open (or, 上报 in pause mode, until the reply) and resumes when
    none is; a special procedure's start and end are events of the course."""
    if not case.is_open or decision_clock_stopped(case):
        return []
    props = step.process.element_properties
    running = step.after.state == "running"
    pausing = [t for t in step.after.user_tasks if _pauses_for(step, case, t, props(t.element_id))] if running else []
    forwarded_pause = case.forward_clock == hall.ForwardClock.PAUSE and case.forwarded_at is not None \
        and case.replied_at is None and running
    events = []
    now_open = {t.id for t in step.after.user_tasks}
    for task in step.before.user_tasks:  # a procedure that ended, then one that began (in the same step)
        if task.id not in now_open and hall.pause_of(props(task.element_id)) == hall.Pause.SPECIAL:
            events.append(course.Event("special_ended", step.at, step.actor, task.post, task.id, task.element_id,
                                       {"procedure": props(task.element_id).get(hall.SPECIAL) or task.name}))
    was = {t.id for t in step.before.user_tasks}
    for task in step.after.user_tasks:
        if task.id not in was and hall.pause_of(props(task.element_id)) == hall.Pause.SPECIAL:
            name = props(task.element_id).get(hall.SPECIAL) or task.name
            basis, bound = _special(step, props(task.element_id), task.name)
            events.append(course.Event("special_started", step.at, step.actor, task.post, task.id, task.element_id,
                                       {"procedure": name, "basis": basis, "max_days": bound,
                                        "pauses": basis is not None}))
            if basis is None:
                _event(step, case, step.at, "counted", element_id=task.element_id,
                       reason=f"「{name}」不属于《行政许可法》第四十五条所列特别程序，事项也未载明规定它的地方性法规"
                              f"或规章：所用时间计入办理期限")
    if (pausing or forwarded_pause) and case.paused_since is None:
        if pausing:
            _pause(step, case, pausing[0], props(pausing[0].element_id), step.at)
        else:
            case.paused_since = step.at
            _event(step, case, step.at, "pause", reason="上报上级机关，区级计时暂停（《行政许可法》第四十三条）")
    elif not (pausing or forwarded_pause) and case.paused_since is not None:
        ended = next((t for t in step.before.user_tasks if hall.pause_of(props(t.element_id))), None)
        _resume(step, case, ended, step.at)
    if case.pause_task_id is not None and case.paused_since is None and case.pause_task_id not in now_open:
        case.pause_task_id, case.pause_limit, case.pause_extended_days = None, None, 0  # a spent pause ended
    return events


def _pause(step, case: HallCase, task, properties: dict[str, str], at: datetime) -> None:
    case.paused_since = at
    if hall.pause_of(properties) == hall.Pause.SUPPLEMENT:
        what = "补正（受理前，等待申请人补正材料）"
        case.pause_task_id, case.pause_limit = None, None
    else:
        basis, bound = _special(step, properties, task.name)
        case.pause_task_id, case.pause_limit, case.pause_extended_days = task.id, bound, 0
        what = f"特别程序（{properties.get(hall.SPECIAL) or task.name}，依据{basis}" + (
            f"，至多 {bound} 个工作日不计入办理期限）" if bound is not None else "）")
    _event(step, case, at, "pause", reason=f"{what}：{task.name}", element_id=task.element_id)


def _resume(step, case: HallCase, ended, at: datetime) -> None:
    cal = calendar.workday_calendar()
    days = cal.working_days_between(local_date(case.paused_since), local_date(at))
    counted = days if case.pause_limit is None else min(days, case.pause_limit)
    case.paused_since = None
    # before the acceptance the wait moves the provisional due date (and a 不予受理's verdict); the acceptance
    # starts the limit afresh and drops it
    case.paused_days = (case.paused_days or 0) + counted
    case.due_date = case_due_date(case, cal)
    case.pause_task_id, case.pause_limit, case.pause_extended_days = None, None, 0
    reason = f"恢复计时，暂停 {days} 个工作日" + (f"（{ended.name}）" if ended else "")
    if counted < days:
        reason += f"，其中超过特别程序时限的 {days - counted} 个工作日计入办理期限（《行政许可法》第四十五条）"
    _event(step, case, at, "resume", reason=reason, element_id=ended.element_id if ended else None,
           working_days=counted)


def spend_pause(case: HallCase, at: datetime) -> bool:
    """Art. 45 bounds a special procedure: once its working days (with a second notice's extension) are spent, the
    clock runs again while the procedure goes on. The supervision sweep calls this under the case's lock."""
    if case.paused_since is None or case.pause_limit is None or not case.is_open:
        return False
    cal = calendar.workday_calendar()
    since = local_date(case.paused_since)
    if cal.working_days_between(since, local_date(at)) <= case.pause_limit:
        return False
    limit = case.pause_limit
    resumed_on = cal.add_working_days(since, limit).date
    case.paused_since = None
    if case.accepted_on is not None:
        case.paused_days = (case.paused_days or 0) + limit
    case.due_date = case_due_date(case, cal)
    _event(None, case, at, "resume", working_days=limit,
           reason=f"特别程序已满其时限 {limit} 个工作日，自 {resumed_on.isoformat()} 起计入办理期限"
                  f"（《行政许可法》第四十五条）")
    course.record(case.instance_id, course.Event("special_overrun", at, None, None, case.pause_task_id, None,
                                                 {"max_days": limit, "counted_from": resumed_on.isoformat(),
                                                  "due_date": case.due_date.isoformat()}))
    return True


def recompute_for_calendar(days: list[date], actor: str | None, at: datetime) -> list[str]:
    """The calendar changed (`calendar_changed`, in the administrator's transaction): each open case whose clock
    spans a changed day gets its due date (and an undelivered decision its delivery date) counted again on the
    calendar now — a clock event and an audit entry per case. Returns the cases whose dates moved."""
    if not days:
        return []
    first, last = min(days), max(days)
    cal = calendar.workday_calendar()
    counted_from = sa.func.coalesce(HallCase.accepted_on, HallCase.received_on)
    decision = sa.and_(HallCase.decided_at.is_(None), HallCase.due_date >= first, counted_from <= last)
    delivery = sa.and_(HallCase.decided_at.is_not(None), HallCase.delivered_at.is_(None),
                       HallCase.delivery_due >= first)
    ids = list(db.session.scalars(sa.select(HallCase.instance_id).where(
        HallCase.is_open, HallCase.matter_code.is_not(None), sa.or_(decision, delivery))
        .order_by(HallCase.instance_id)))
    changed = []
    listed = "、".join(d.isoformat() for d in sorted(days)[:5]) + ("等" if len(days) > 5 else "")
    for instance_id in ids:
        case = cases.lock(instance_id)
        if case is None or not case.is_open:
            continue
        moves = {}
        if case.decided_at is None and not district_clock_ended(case) and case.due_date is not None:
            due = case_due_date(case, cal)
            if due != case.due_date:
                moves["due_date"] = (case.due_date, due)
                case.due_date = due
        if case.decided_at is not None and case.delivered_at is None and case.delivery_due is not None:
            due = cal.add_working_days(local_date(case.decided_at), hall.DELIVERY_DAYS).date
            if due != case.delivery_due:
                moves["delivery_due"] = (case.delivery_due, due)
                case.delivery_due = due
        if not moves:
            continue
        words = {"due_date": "办理期限", "delivery_due": "送达期限"}
        said = "；".join(f"{words[k]}由 {old.isoformat()} 改为 {new.isoformat()}" for k, (old, new) in moves.items())
        _event(None, case, at, "recomputed", reason=f"节假日安排调整（{listed}）：{said}"[:200])
        audit.record("instance.clock_recomputed", actor=actor, instance_id=instance_id,
                     details={"days": [d.isoformat() for d in sorted(days)],
                              **{k: {"from": old.isoformat(), "to": new.isoformat()} for k, (old, new) in moves.items()}})
        changed.append(instance_id)
    return changed
