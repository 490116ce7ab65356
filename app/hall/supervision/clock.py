"""The case clock (办件计时): a matter case's due date, its pauses, and how it ended.

`runtime.save` calls `on_step` once per step, before the case row is written, so everything here lands in the
same UPDATE (or INSERT) of the row, in the same transaction as the step. For cases that are not a catalogued
matter's it returns at once: the matter lookup is done once per definition version and kept in memory.

* Start: a case of a matter's diagram gets `matter_code`, `department_code`, `green_channel` (asked for in the
  case data and allowed by the matter), `received_on` (today in Asia/Shanghai), `promised_days` (the matter's;
  green channel: `max(1, floor(promised × TONGBAN_GREEN_CHANNEL_RATIO))`, 0 stays 0) and
  `due_date = add_working_days(received_on, promised_days + paused_days)`.
* Pause: while a task the diagram declares as pausing (`hall.pause`: the supplement check, where the case
  waits for the applicant, or a special procedure, Art. 45) is open. Resume when none is open any more:
  `paused_days += working_days_between(pause date, resume date)` and the due date moves.
* Stop: `outcome` from the end event reached (its `hall.outcome`, or `cancelled`), `working_days_used`, `on_time`,
  `light = None`;
  the case's open warnings close (a refusal without reasons stays open until a supervisor closes it).

Every start, pause, resume and stop is a `clock_event` row with the due date it leaves.
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
from .. import vocabulary as hall
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
    from ...matters.models import Matter
    from ...people.models import Post

    with db.session.no_autoflush:
        row = db.session.execute(
            sa.select(Matter.code, Matter.name, Matter.kind, Matter.department_code, Matter.promised_days,
                      Matter.green_channel, Post.name, Matter.effective_from, Matter.cancelled_on, Matter.record)
            .outerjoin(Post, sa.and_(Post.department_code == Matter.department_code, Post.kind == "supervise"))
            .where(Matter.process_key == process_key).order_by(Matter.code).limit(1)).first()
    if row is None:
        return None
    code, name, kind, department, promised, green, post, effective_from, cancelled_on, record = row
    forward = (record or {}).get("forward_clock") if isinstance(record, dict) else None
    return MatterInfo(code, name, kind, department, post, promised or 0, bool(green), effective_from, cancelled_on,
                      forward)


# -- settings ----------------------------------------------------------------------------------------------------
def green_channel_days(promised: int) -> int:
    """A green-channel case's own, shorter limit: a share of the promised days, at least one (0 stays 0)."""
    if promised <= 0:
        return 0
    ratio = float(current_app.config.get("GREEN_CHANNEL_RATIO", 0.5))
    return max(1, min(promised, math.floor(promised * ratio)))


def local_date(at: datetime) -> date:
    return as_utc(at).astimezone(SHANGHAI).date()


def due_date(received_on: date, promised_days: int, paused_days: int, cal=None, extended_days: int = 0) -> date:
    cal = cal or calendar.workday_calendar()
    return cal.add_working_days(received_on, promised_days + (extended_days or 0) + paused_days).date


def case_due_date(instance, cal=None) -> date:
    """The case's due date now: its limit, the extension granted (Art. 42) and the working days paused."""
    return due_date(instance.received_on, instance.promised_days or 0, instance.paused_days or 0, cal,
                    instance.extended_days or 0)


def district_clock_ended(instance) -> bool:
    """上报件 (Art. 43): the district's clock ended when the case was forwarded (the higher authority's time
    is its own)."""
    return instance.forwarded_at is not None and instance.forward_clock == hall.ForwardClock.END


# -- the hook ----------------------------------------------------------------------------------------------------
def on_step(result) -> None:
    """Bring the case's clock up to date with a step (a before-flush step hook: before the row is written).

    Cost: nothing for cases that are not a matter's; for a matter's case, queries only when the clock starts,
    pauses, resumes or stops, when its owner is first known, or when a refusal is flagged.
    """
    instance, before, snap, steps, at = result.instance, result.before, result.after, result.steps, result.at
    props = result.process.element_properties
    completed_task_id = result.completed.id if result.completed is not None else None
    if instance.version is None:  # a new case
        matter = matter_for(instance.definition_id, instance.process_key)
        if matter is None:
            return
        _start(instance, matter, snap, at)
    if instance.matter_code is None:
        return
    if completed_task_id is not None:
        _completed(instance, result.completed, snap, props(result.completed.element_id), at)
    if instance.owner and instance.window_no is None and sa.inspect(instance).attrs.owner.history.added:
        _window_of_owner(instance)
    if instance.forwarded_at is not None and instance.replied_at is None and before.messages \
            and not snap.messages and instance.state != "cancelled":
        _replied(instance, at)  # the higher authority's reply came (a message, not a task of ours)
    pausing = [t for t in snap.user_tasks if _pauses(instance, props(t.element_id))] \
        if instance.state == "running" else []
    forwarded_pause = instance.forward_clock == hall.ForwardClock.PAUSE and instance.forwarded_at is not None \
        and instance.replied_at is None and instance.state == "running"
    if (pausing or forwarded_pause) and instance.paused_since is None:
        if pausing:
            _pause(instance, pausing[0], props(pausing[0].element_id), at)
        else:
            instance.paused_since = at
            _event(instance, at, "pause", reason="上报上级机关，区级计时暂停（《行政许可法》第四十三条）")
    elif not (pausing or forwarded_pause) and instance.paused_since is not None:
        ended = next((t for t in before.user_tasks if hall.pause_of(props(t.element_id))), None)
        _resume(instance, ended, at)
    if instance.state in ("completed", "cancelled") and instance.outcome is None:
        _stop(instance, steps, props, at)


def _event(instance, at: datetime, kind: str, *, reason: str | None = None, element_id: str | None = None,
           working_days: int | None = None) -> None:
    db.session.add(ClockEvent(instance_id=instance.id, at=at, kind=kind, reason=reason, element_id=element_id,
                              working_days=working_days, due_date=instance.due_date))


def _start(instance, matter: MatterInfo, snap, at: datetime) -> None:
    wanted = bool((snap.data or {}).get("green_channel"))
    instance.matter_code = matter.code
    instance.department_code = matter.department_code
    instance.green_channel = wanted and matter.green_channel
    instance.received_on = local_date(at)
    instance.promised_days = green_channel_days(matter.promised_days) if instance.green_channel \
        else matter.promised_days
    instance.paused_days = 0
    instance.supplement_count = 0
    instance.due_date = due_date(instance.received_on, instance.promised_days, 0)
    instance.light = "green"  # a case never starts yellow (see supervision.service.case_light)
    reason = f"收件，承诺时限 {instance.promised_days} 个工作日"
    if instance.green_channel:
        reason += f"（绿色通道，原 {matter.promised_days} 个工作日）"
    elif wanted:
        reason += "（该事项未开通绿色通道，按承诺时限计）"
    _event(instance, at, "start", reason=reason)


def _pauses(instance, properties: dict[str, str]) -> bool:
    pause = hall.pause_of(properties)
    if pause == hall.Pause.SUPPLEMENT and instance.accepted_on_receipt:
        return False  # Art. 32: no notice in time, the case counts as accepted on receipt: nothing to wait for
    return bool(pause)


def _completed(instance, done, snap, properties: dict[str, str], at: datetime) -> None:
    step = hall.step_of(properties)
    if step == hall.Step.SUPPLEMENT_NOTICE:
        instance.supplement_count = (instance.supplement_count or 0) + 1
        if not instance.accepted_on_receipt and local_date(at) > supplement_notice_deadline(instance):
            accept_on_receipt(instance, done.id, done.element_id, at)
    if step == hall.Step.FORWARD:  # the diagram's mode, else the matter record's, else the clock ends (Art. 43)
        matter = matter_for(instance.definition_id, instance.process_key)
        mode = properties.get(hall.FORWARD_CLOCK) or (matter.forward_clock if matter else None) or hall.ForwardClock.END
        _forwarded(instance, mode, done, at)
    if step == hall.Step.DELIVER and instance.decided_at is not None:
        deadline = delivery_deadline(instance)
        if local_date(at) > deadline:
            _late_delivery(instance, done, deadline, at)
    if step in (hall.Step.DECIDE, hall.Step.COORDINATE) and instance.decided_at is None:
        data = snap.data or {}
        if step == hall.Step.DECIDE or data.get("coordination") not in (None, "resolved"):
            instance.decided_at = at  # a coordination that fails decides the refusal
    if step == hall.Step.DECIDE:
        data = snap.data or {}
        reasons = data.get("reasons")
        if data.get("decision") == "refuse" and not (isinstance(reasons, str) and reasons.strip()):
            _refusal_without_reasons(instance, done, at)


def _refusal_without_reasons(instance, task, at: datetime) -> None:
    """Art. 38: a refusal must state its reasons. Flagged red, to the department's supervisor, at once."""
    from . import service

    matter = matter_for(instance.definition_id, instance.process_key)
    warning = SupervisionWarning(
        instance_id=instance.id, task_id=task.id, kind="refusal_without_reasons", level="red",
        department_code=instance.department_code, post=matter.supervise_post if matter else None,
        message=service.refusal_message(matter.name if matter else instance.matter_code, instance),
        raised_at=at, state="open")
    db.session.add(warning)
    audit.record("supervision.warning", actor=None, instance_id=instance.id, task_id=task.id,
                 element_id=task.element_id, details=service.warning_details(warning))


# -- hall-rules: the law's limits (行政许可法 Art. 32, 42, 43, 44) -----------------------------------------------
def supplement_notice_deadline(instance, cal=None) -> date:
    """Art. 32: the supplement notice within 5 working days of receipt."""
    cal = cal or calendar.workday_calendar()
    return cal.add_working_days(instance.received_on, hall.SUPPLEMENT_NOTICE_DAYS).date


def delivery_deadline(instance, cal=None) -> date:
    """Art. 44: delivered within 10 working days of the decision."""
    cal = cal or calendar.workday_calendar()
    return cal.add_working_days(local_date(instance.decided_at), hall.DELIVERY_DAYS).date


def delivery_message(instance, deadline: date, *, delivered: bool) -> str:
    what = "送达超过" if delivered else "决定后超过"
    return (f"办件 {instance.business_key or instance.id[:8]} {what} {hall.DELIVERY_DAYS} 个工作日"
            f"{'才送达' if delivered else '仍未送达'}（应于 {deadline.isoformat()} 前送达，《行政许可法》第四十四条）")


def _late_delivery(instance, done, deadline: date, at: datetime) -> None:
    """Delivered after the Art. 44 limit: one warning per delivery step. The sweep's "not delivered yet" warning,
    if it came first, now says when it was delivered; otherwise one is raised now."""
    message = delivery_message(instance, deadline, delivered=True)
    flagged = db.session.connection().execute(
        sa.update(SupervisionWarning)
        .where(SupervisionWarning.instance_id == instance.id, SupervisionWarning.task_id == done.id,
               SupervisionWarning.kind == "late_delivery", SupervisionWarning.state == "open")
        .values(message=message)).rowcount
    if not flagged:
        _rule_warning(instance, done.id, done.element_id, "late_delivery", "red", at, message)


def accept_on_receipt(instance, task_id: str | None, element_id: str | None, at: datetime) -> None:
    """Art. 32: no supplement notice within 5 working days: the application counts as accepted on receipt."""
    instance.accepted_on_receipt = True
    deadline = supplement_notice_deadline(instance)
    _event(instance, at, "accepted_on_receipt", element_id=element_id,
           reason=f"补正告知超过 {hall.SUPPLEMENT_NOTICE_DAYS} 个工作日（应于 {deadline.isoformat()} 前），"
                  f"自收到申请之日起即为受理（《行政许可法》第三十二条）")
    _rule_warning(instance, task_id, element_id, "late_supplement_notice", "red", at,
                  f"办件 {instance.business_key or instance.id[:8]} 未在收件后 {hall.SUPPLEMENT_NOTICE_DAYS} 个工作日内"
                  f"一次性告知补正（应于 {deadline.isoformat()} 前），视为自收件之日起受理（《行政许可法》第三十二条）")


def _rule_warning(instance, task_id, element_id, kind: str, level: str, at: datetime, message: str) -> None:
    matter = matter_for(instance.definition_id, instance.process_key)
    warning = SupervisionWarning(instance_id=instance.id, task_id=task_id, kind=kind, level=level,
                                 department_code=instance.department_code,
                                 post=matter.supervise_post if matter else None, message=message, raised_at=at,
                                 state="open")
    db.session.add(warning)
    audit.record("supervision.warning", actor=None, instance_id=instance.id, task_id=task_id, element_id=element_id,
                 details={"kind": kind, "level": level, "post": warning.post,
                          "department": instance.department_code, "message": message})


def _forwarded(instance, mode: str, done, at: datetime) -> None:
    """上报 (Art. 43): the district's part ends here; its clock ends (or pauses) and the higher one starts."""
    instance.forwarded_at = at
    instance.forward_clock = hall.ForwardClock(mode) if mode in tuple(hall.ForwardClock) else hall.ForwardClock.END
    if instance.forward_clock == hall.ForwardClock.END:
        cal = calendar.workday_calendar()
        instance.working_days_used = max(0, cal.working_days_between(instance.received_on, local_date(at))
                                         - (instance.paused_days or 0))
        instance.on_time = local_date(at) <= instance.due_date
        instance.light = None
        _event(instance, at, "forwarded", element_id=done.element_id, working_days=instance.working_days_used,
               reason="上报上级机关，区级计时结束；上级机关的办理时间另计（《行政许可法》第四十三条）")
        db.session.connection().execute(
            sa.update(SupervisionWarning)
            .where(SupervisionWarning.instance_id == instance.id, SupervisionWarning.state == "open",
                   SupervisionWarning.kind.in_(("case_yellow", "case_red")))
            .values(state="closed", closed_at=at, note="已上报上级机关，区级计时结束"))


def _replied(instance, at: datetime) -> None:
    cal = calendar.workday_calendar()
    instance.replied_at = at
    days = cal.working_days_between(local_date(instance.forwarded_at), local_date(at))
    _event(instance, at, "reply", working_days=days, reason=f"上级机关答复，上级办理 {days} 个工作日")
# -- end hall-rules ----------------------------------------------------------------------------------------------


def _window_of_owner(instance) -> None:
    from ...people.models import User

    with db.session.no_autoflush:
        instance.window_no = db.session.scalar(sa.select(User.window_no).where(User.username == instance.owner))


def _pause(instance, task, properties: dict[str, str], at: datetime) -> None:
    instance.paused_since = at
    if hall.pause_of(properties) == hall.Pause.SUPPLEMENT:
        what = "补正"
    else:
        what = f"特别程序（{properties.get(hall.SPECIAL) or task.name}）"
    _event(instance, at, "pause", reason=f"{what}：{task.name}"[:200], element_id=task.element_id)


def _resume(instance, ended, at: datetime) -> None:
    cal = calendar.workday_calendar()
    days = cal.working_days_between(local_date(instance.paused_since), local_date(at))
    instance.paused_days = (instance.paused_days or 0) + days
    instance.paused_since = None
    instance.due_date = case_due_date(instance, cal)
    reason = f"恢复计时，暂停 {days} 个工作日" + (f"（{ended.name}）" if ended else "")
    _event(instance, at, "resume", reason=reason[:200], element_id=ended.element_id if ended else None,
           working_days=days)


def _stop(instance, steps, props, at: datetime) -> None:
    if instance.state == "cancelled":
        outcome = "cancelled"
        element = None
    else:
        ends = [s.element_id for s in steps if props(s.element_id).get(hall.OUTCOME) in OUTCOME_NAMES]
        element = ends[-1] if ends else None
        outcome = props(element)[hall.OUTCOME] if element else "completed"
    closed = local_date(at)
    cal = calendar.workday_calendar()
    instance.outcome = outcome
    if not district_clock_ended(instance):  # a forwarded case's district days were counted at forwarding
        instance.working_days_used = max(0, cal.working_days_between(instance.received_on, closed)
                                         - (instance.paused_days or 0))
        instance.on_time = closed <= instance.due_date
    instance.light = None
    _event(instance, at, "stop", reason=f"办结：{OUTCOME_NAMES[outcome]}", element_id=element,
           working_days=instance.working_days_used)
    db.session.connection().execute(
        sa.update(SupervisionWarning)
        .where(SupervisionWarning.instance_id == instance.id, SupervisionWarning.state == "open",
               SupervisionWarning.kind.in_(CLOSE_WITH_CASE))
        .values(state="closed", closed_at=at, note=f"办件已{'撤销' if outcome == 'cancelled' else '办结'}"))
