"""Loading and saving cases: the engine state, task rows, timers, subscriptions and audit in one transaction.

Live workflows are cached per app (app.extensions) by (instance id, row version); a cache entry is taken out while a
request works on it, so two threads never share one workflow object, and it is put back only after a commit.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app, has_request_context
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm.exc import StaleDataError

from ..audit import service as audit
from ..caches import app_cache
from ..clock import app_clock, now
from ..definitions import service as definitions
from ..engine.case import Case, Snapshot
from ..engine.sandbox import SandboxLimits
from ..errors import Busy, Conflict, is_lock_conflict
from ..extensions import db
from ..plugins import hooks
from . import external_rows, step_incidents
from .hooks import StartContext, StepResult
from .limits import engine_limits
from .models import (
    MessageSubscription,
    ProcessInstance,
    TaskCandidate,
    TaskSubmission,
    Timer,
    UserTask,
    attempt_returned,
    candidate_rows,
)


class _WorkflowCache:
    def __init__(self) -> None:
        self._items: OrderedDict[str, tuple[int, Case]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, instance_id: str, version: int) -> Case | None:
        with self._lock:
            entry = self._items.pop(instance_id, None)
        if entry is not None and entry[0] == version:
            return entry[1]
        return None

    def put(self, instance_id: str, version: int, case: Case, size: int) -> None:
        with self._lock:
            self._items[instance_id] = (version, case)
            self._items.move_to_end(instance_id)
            while len(self._items) > size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


log = logging.getLogger(__name__)


def _cache() -> _WorkflowCache:
    """This app's live workflows (app.extensions: a fresh app starts with none)."""
    return app_cache("runtime.workflows", _WorkflowCache)


# Rows a step writes go through Core statements on the session's connection: same transaction, no ORM cost.
_TASKS = UserTask.__table__
_SUBMISSIONS = TaskSubmission.__table__
_CANDIDATES = TaskCandidate.__table__
_TIMERS = Timer.__table__
_SUBSCRIPTIONS = MessageSubscription.__table__
# built once (a statement built at every step costs SQLAlchemy more than running it)
_INSERT_TASKS, _INSERT_CANDIDATES = _TASKS.insert(), _CANDIDATES.insert()
_INSERT_SUBMISSION, _INSERT_SUBSCRIPTIONS = _SUBMISSIONS.insert(), _SUBSCRIPTIONS.insert()


def _core(statement, rows=None) -> None:
    db.session.connection().execute(statement, rows) if rows is not None else \
        db.session.connection().execute(statement)


@dataclass
class Saved:
    """What a save wrote: the case's snapshot and the task and timer rows it added."""

    snapshot: Snapshot
    new_tasks: list[dict] = field(default_factory=list)
    new_timers: list[dict] = field(default_factory=list)
    extra: Any = None
    outbox: list = field(default_factory=list)  # messages and signals thrown for other cases
    source: tuple = ()  # (instance id, business key) of the case that threw them
    written: tuple = ()  # (instance id, its new version, the case) for the cache once committed
    answer: dict = field(default_factory=dict)  # what plugins add to the caller's answer (StepResult.answer)


# -- races: one lock order (the case row first), lock conflicts as 409 -------------------------------------------
# built once: every step runs them (building a statement costs SQLAlchemy more than running it); SQLite renders
# no FOR UPDATE (its writer holds the whole database)
_LOCK_CASE = sa.select(ProcessInstance).where(ProcessInstance.id == sa.bindparam("id")) \
    .execution_options(populate_existing=True).with_for_update()
_LOCK_TIMEOUT = sa.select(sa.func.set_config("lock_timeout", sa.bindparam("timeout", type_=sa.String), True))


def lock(instance_id: str) -> ProcessInstance | None:
    """The case row, fresh and write-locked for this transaction, before any task, timer or subscription row of it.

    Every writer of a case takes its row first (complete, cancel, timer, message), so two writers queue on the
    case row instead of deadlocking on each other's task and timer rows. A request waits at most
    LOCK_TIMEOUT_MS behind another writer (a long timer step) and then answers 409 busy; the scheduler never
    waits here, it skips locked cases (timers.service). On SQLite the writing transaction already holds the
    database's write lock (BEGIN IMMEDIATE), so a plain read is as good.
    """
    try:
        if db.engine.dialect.name == "postgresql" and has_request_context():
            db.session.execute(_LOCK_TIMEOUT, {"timeout": f"{int(current_app.config['LOCK_TIMEOUT_MS'])}ms"})
        return db.session.scalar(_LOCK_CASE, {"id": instance_id})
    except OperationalError as exc:
        if not is_lock_conflict(exc):
            raise
        db.session.rollback()
        raise Busy(details={"instance_id": instance_id}) from None


def _conflict(exc: Exception, instance_id: str) -> Exception | None:
    """What a failed write means to the caller: a lost version check or a lock conflict is a 409, else None.

    A violated constraint (IntegrityError) is not a race here (every row a step writes is keyed by the case,
    which the caller holds): it is a bug and surfaces as a logged 500.
    """
    if isinstance(exc, StaleDataError):
        return Conflict("该办件已被他人同时处理，请刷新后重试 (concurrent update)", {"instance_id": instance_id})
    if is_lock_conflict(exc):
        return Busy(details={"instance_id": instance_id})
    return None
# -- end races ---------------------------------------------------------------------------------------------------


def load(instance: ProcessInstance) -> Case:
    """The live case of a row: from the cache when it holds this very version, else deserialized.

    The cache entry is taken out: a case whose step fails is simply never put back (see `save`).
    """
    clock = app_clock(current_app._get_current_object())
    limits = sandbox_limits()
    case = _cache().take(instance.id, instance.version)
    if case is None:
        process = definitions.compiled_by_id(instance.definition_id)
        case = Case.load(process, instance.engine_state, clock, limits=limits, working_days=working_days,
                         resolver=definitions.CallResolver(instance.definition_id))
        case.baseline = case.snapshot()  # what the rows of this version say
    else:
        case.set_clock(clock)
        case.set_limits(limits)
    case.instance_id = instance.id
    case.set_engine_limits(engine_limits())
    case.steps.clear()
    case.outbox.clear()
    return case


def working_days(start: datetime, days: int) -> datetime:
    """The business calendar the engine's working-day timers count on, as a plugin gives it (app/calendar:
    Chinese working days, due at the office's close); without one, calendar days."""
    moment = hooks().working_days(start=start, days=days)
    return moment if moment is not None else start + timedelta(days=days)


def sandbox_limits() -> SandboxLimits:
    """The script sandbox's limits from the app's config (TONGBAN_SCRIPT_TIMEOUT, TONGBAN_SCRIPT_MEMORY_MB...)."""
    config = current_app.config
    key = (config["SCRIPT_TIMEOUT_SECONDS"], config["SCRIPT_MEMORY_MB"], config["SCRIPT_WORKERS"])
    remembered = app_cache("runtime.sandbox_limits", dict)  # per app: a test's app may set its own
    limits = remembered.get(key)
    if limits is None:
        limits = remembered[key] = SandboxLimits(timeout_seconds=key[0], memory_mb=key[1], workers=key[2])
    return limits


def save(instance: ProcessInstance, case: Case, *, actor: str | None, action: str,
         task_id: str | None = None, details: dict[str, Any] | None = None,
         completed_task_id: str | None = None, before_commit: Callable[[], Any] | None = None,
         commit: bool = True, submitted: dict[str, Any] | None = None, start: StartContext | None = None,
         completing_as: str | None = None) -> Saved:
    """Write everything the case's new state implies and commit; 409 if another writer got there first.
    `completing_as`: the completed task must still be unclaimed or claimed by this user (409 when a colleague's
    claim slipped in since it was read).

    What changed is found by comparing the case's snapshot with its baseline (the state last written), so a
    step reads nothing back from the task, timer and subscription tables: it only writes the differences.
    `before_commit` may read what the step wrote (its result lands in `Saved.extra`), saving a read after
    the commit. With `commit=False` the caller commits several cases at once with `commit_all`.
    """
    at = now()
    instance_key, stored_version, process_key = instance.id, instance.version, instance.process_key
    snap = case.snapshot()
    if snap.state == "running" and snap.user_tasks and any(
            hooks().course_ended(process=case.process, steps=list(case.steps), snapshot=snap)):
        case.end_remaining()  # what still runs (escalations) ends with the case's main course
        snap = case.snapshot()
    before = case.baseline or Snapshot(state="running", data={})
    new = instance.version is None
    try:
        if instance.state != "cancelled":
            instance.state = snap.state
        instance.data = snap.data
        instance.error = f"{snap.error} [{snap.error_element}]" if snap.error and snap.error_element else snap.error
        instance.engine_state = case.dump()
        instance.updated_at = at
        if instance.state in ("completed", "cancelled") and instance.ended_at is None:
            instance.ended_at = at
        if new:
            db.session.add(instance)
        result = StepResult(
            instance, case.process, before, snap, list(case.steps), at, actor, action,
            next((t for t in before.user_tasks if t.id == completed_task_id), None), dict(submitted or {}),
            start=start, details=dict(details or {}))
        hooks().step_before_flush(step=result)  # plugins write their own rows, or refuse the step
        db.session.flush()  # the version check comes first: a losing writer stops before writing anything else
        saved = Saved(snap, _sync_tasks(instance, result, completed_task_id, completing_as),
                      _sync_timers(instance, before, snap, at, case.fired_timers, action))
        result.new_tasks = saved.new_tasks
        saved.answer = result.answer
        _record_submission(instance, result)
        hooks().step_after_flush(step=result)
        _sync_subscriptions(instance, before, snap)
        external_rows.sync(instance, before, snap, at)  # service tasks waiting for a worker
        audit.record_many([
            *(audit.entry("engine.step", actor=None, instance_id=instance.id, element_id=step.element_id,
                          details={"name": step.name, "type": step.kind}) for step in case.steps),
            audit.entry(action, actor=actor, instance_id=instance.id, task_id=task_id, details=details or {}),
            *result.audit,
        ])
        if before_commit is not None:
            saved.extra = before_commit()
        saved.written = (instance.id, instance.version, case)
        saved.source = (instance_key, instance.business_key)  # read now: after the commit the row is expired
        if commit:
            db.session.commit()
    except Exception as exc:
        db.session.rollback()
        mapped = _conflict(exc, instance_key)
        if mapped is not None:
            raise mapped from None
        if step_incidents.is_incident(exc):  # the new state cannot be stored: an incident, the case as it was
            raise step_incidents.record(exc, instance_id=None if new else instance_key, case_version=stored_version,
                                        process_key=process_key, action=action, actor=actor) from None
        raise
    saved.outbox = list(case.outbox)
    if commit:
        _remember(saved)
        dispatch(saved.outbox, saved.source)
    return saved


def commit_all(saves: list[Saved]) -> None:
    """Commit the steps of several cases saved with `commit=False`: all of them or, on error, none."""
    try:
        db.session.commit()
    except Exception as exc:
        db.session.rollback()
        mapped = _conflict(exc, saves[0].written[0] if saves else "")
        if mapped is not None:
            raise mapped from None
        raise
    for saved in saves:
        _remember(saved)
    for saved in saves:
        dispatch(saved.outbox, saved.source)


_chain = threading.local()
MAX_CHAIN = 10  # a message that starts a case that throws a message... stops here: a loop between diagrams


def dispatch(outbox: list, source: tuple) -> None:
    """After a commit: the messages and signals a case threw reach other cases, each in its own transaction."""
    if not outbox:
        return
    depth = getattr(_chain, "depth", 0)
    if depth >= MAX_CHAIN:
        log.warning("case %s: events not routed, %d cases in one chain", source[0], depth)
        return
    _chain.depth = depth + 1
    try:
        hooks().events_thrown(outbox=outbox, source=source)  # app/messages delivers them
    finally:
        _chain.depth = depth


def _remember(saved: Saved) -> None:
    """After the commit: the case's new baseline, and its live workflow back in the cache at its new version."""
    instance_id, version, case = saved.written
    case.baseline = saved.snapshot
    _cache().put(instance_id, version, case, current_app.config["WORKFLOW_CACHE_SIZE"])
    case.steps.clear()


_COMPLETE_TASK = (_TASKS.update().where(_TASKS.c.id == sa.bindparam("task_id"), _TASKS.c.state == "open")
                  .values(state="completed", completed_at=sa.bindparam("at"), completed_by=sa.bindparam("actor"),
                          assignee=sa.func.coalesce(_TASKS.c.assignee, sa.bindparam("actor"))))
# the completing clerk's own or nobody's: a colleague's claim since the task was read wins
_COMPLETE_OWN_TASK = _COMPLETE_TASK.where(sa.or_(_TASKS.c.assignee.is_(None),
                                                 _TASKS.c.assignee == sa.bindparam("completing_as")))


def _sync_tasks(instance, result: StepResult, completed_task_id, completing_as: str | None = None) -> list[dict]:
    before, snap, at, actor = result.before, result.after, result.at, result.actor
    was_open = {t.id for t in before.user_tasks}
    now_open = {t.id for t in snap.user_tasks}
    boundary_due = _boundary_due(snap, instance)
    new_rows = [
        {"id": t.id, "instance_id": instance.id, "process_key": instance.process_key, "element_id": t.element_id,
         "name": t.name, "post": t.post, "home_post": t.post, "state": "open", "form_key": t.form_key,
         "created_at": at, "due_at": boundary_due.get(t.element_id) or t.due_at, "priority": t.priority,
         "assignee": t.assignee, "claimed_at": at if t.assignee else None,
         "completed_at": None, "completed_by": None, "other_posts": list(t.other_posts)}
        for t in snap.user_tasks if t.id not in was_open]
    if new_rows:
        hooks().step_new_tasks(step=result, rows=new_rows)  # plugins route and assign the new tasks
        candidates = [c for row in new_rows for c in candidate_rows(row["id"], row["home_post"], row["other_posts"])]
        _core(_INSERT_TASKS, [{k: v for k, v in row.items() if k in _TASKS.c} for row in new_rows])
        if candidates:
            _core(_INSERT_CANDIDATES, candidates)
    was_due = _boundary_due(before, instance)
    moved = {element: due for element, due in boundary_due.items() if was_due.get(element) not in (None, due)}
    for task in snap.user_tasks:  # a boundary timer rescheduled: the open task's due date follows it
        if task.id in was_open and task.element_id in moved:
            _core(_TASKS.update().where(_TASKS.c.id == task.id, _TASKS.c.state == "open")
                  .values(due_at=moved[task.element_id]))
    gone = was_open - now_open
    if completed_task_id in gone:
        gone.discard(completed_task_id)
        done = db.session.connection().execute(
            _COMPLETE_TASK if completing_as is None else _COMPLETE_OWN_TASK,
            {"task_id": completed_task_id, "at": at, "actor": actor, "completing_as": completing_as})
        if completing_as is not None and done.rowcount != 1:
            raise Conflict("任务刚被他人认领或已办理，请刷新后重试", {"task_id": completed_task_id})
    if gone:
        _core(_TASKS.update().where(_TASKS.c.id.in_(gone), _TASKS.c.state == "open")
              .values(state="cancelled", completed_at=at))
    # a finished task is no longer looked up as a candidate at other posts (the lists' index); only a task with
    # further candidate groups has rows (and a row left open is harmless: the lists also ask for open tasks)
    ended = [t.id for t in before.user_tasks if t.id not in now_open and set(t.other_posts) - {t.post}]
    if ended:
        _core(_CANDIDATES.update().where(_CANDIDATES.c.task_id.in_(ended), _CANDIDATES.c.is_open)
              .values(is_open=False))
    return new_rows


def _record_submission(instance, result: StepResult) -> None:
    """Each completed task keeps its own submitted data (who, when, what) as a record of the case."""
    done = result.completed
    if done is None:
        return
    meta = result.process.user_tasks.get(done.element_id)
    outputs = list(meta.outputs) if meta is not None and meta.outputs else None
    _core(_INSERT_SUBMISSION, [{"instance_id": instance.id, "task_id": done.id, "element_id": done.element_id,
                                   "name": done.name, "post": done.post, "submitted_by": result.actor,
                                   "submitted_at": result.at, "data": result.submitted, "outputs": outputs}])


def _boundary_due(snap: Snapshot, instance) -> dict[str, datetime]:
    """A task's due date: the earliest timer on its boundary, when it has one."""
    due: dict[str, datetime] = {}
    for timer in snap.timers:
        attached = timer.attached_to
        if attached and (attached not in due or timer.due_at < due[attached]):
            due[attached] = timer.due_at
    return due


RESCHEDULING = ("calendar.recomputed",)  # steps that move due dates without firing anything

# a step's writes of its timers' rows, built once (building a statement costs SQLAlchemy more than running it)
_INSERT_TIMERS = _TIMERS.insert()
_WAITING_TIMER = (_TIMERS.c.instance_id == sa.bindparam("case_id")) & (_TIMERS.c.state == "waiting")
_RESCHEDULE_TIMER = _TIMERS.update().where(_WAITING_TIMER, _TIMERS.c.task_id == sa.bindparam("timer_task")) \
    .values(due_at=sa.bindparam("due"))
_MOVE_TIMER_ON = _RESCHEDULE_TIMER.values(fired_at=sa.bindparam("at"), attempts=0, last_error=None)  # starts afresh
_WAITING_TIMERS = sa.and_(_WAITING_TIMER, _TIMERS.c.task_id.in_(sa.bindparam("timer_tasks", expanding=True)))
_FIRE_TIMERS = _TIMERS.update().where(_WAITING_TIMERS).values(state="fired", fired_at=sa.bindparam("at"),
                                                              **attempt_returned())
_END_TIMERS = _TIMERS.update().where(_WAITING_TIMERS).values(
    state=sa.case((_TIMERS.c.due_at <= sa.bindparam("at"), "superseded"), else_="cancelled"), **attempt_returned())


def _sync_timers(instance, before: Snapshot, snap: Snapshot, at: datetime, fired: set[str],
                 action: str = "") -> list[dict]:
    """A timer gone from the case is `fired` when the engine ran it in this step; else `superseded` when it was
    already due (another step won the race: a completion, a cancel), or `cancelled` when it was not. A timer
    still waiting with another due date moved on (a cycle's next firing, which starts afresh) or was rescheduled
    (the calendar)."""
    was = {t.task_id: t for t in before.timers}
    new_rows = []
    for waiting in snap.timers:
        old = was.pop(waiting.task_id, None)
        if old is None:
            new_rows.append({"instance_id": instance.id, "task_id": waiting.task_id, "element_id": waiting.element_id,
                             "name": waiting.name, "kind": waiting.kind, "due_at": waiting.due_at,
                             "state": "waiting", "created_at": at, "attempts": 0})
        elif old.due_at != waiting.due_at:
            _core(_RESCHEDULE_TIMER if action in RESCHEDULING else _MOVE_TIMER_ON,
                  {"case_id": instance.id, "timer_task": waiting.task_id, "due": waiting.due_at, "at": at})
    if new_rows:
        _core(_INSERT_TIMERS, new_rows)
    if was:
        ran = [task_id for task_id in was if task_id in fired]
        if ran:
            _core(_FIRE_TIMERS, {"case_id": instance.id, "timer_tasks": ran, "at": at})
        if len(ran) < len(was):
            _core(_END_TIMERS, {"case_id": instance.id, "timer_tasks": [t for t in was if t not in fired], "at": at})
    return new_rows


def _sync_subscriptions(instance, before: Snapshot, snap: Snapshot) -> None:
    was = {m.task_id for m in before.messages}
    now_waiting = {m.task_id for m in snap.messages}
    new_rows = [{"instance_id": instance.id, "task_id": m.task_id, "element_id": m.element_id, "name": m.name,
                 "kind": m.kind, "business_key": instance.business_key} for m in snap.messages if m.task_id not in was]
    if new_rows:
        _core(_INSERT_SUBSCRIPTIONS, new_rows)
    if was - now_waiting:
        _core(_SUBSCRIPTIONS.delete().where(_SUBSCRIPTIONS.c.instance_id == instance.id,
                                            _SUBSCRIPTIONS.c.task_id.in_(was - now_waiting)))
