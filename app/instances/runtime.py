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
from datetime import datetime, time
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
from ..engine.errors import CaseFailed
from ..engine.sandbox import SandboxLimits
from ..errors import Busy, Conflict, is_lock_conflict
from ..extensions import db
from ..incidents import steps as step_incidents
from ..messages.models import MessageSubscription
from ..tasks.models import TaskCandidate, TaskSubmission, UserTask, candidate_rows
from ..timers.models import Timer
from . import hooks
from .models import ProcessInstance


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


# -- races: one lock order (the case row first), lock conflicts as 409 -------------------------------------------
def lock(instance_id: str) -> ProcessInstance | None:
    """The case row, fresh and write-locked for this transaction, before any task, timer or subscription row of it.

    Every writer of a case takes its row first (complete, cancel, timer, message), so two writers queue on the
    case row instead of deadlocking on each other's task and timer rows. A request waits at most
    LOCK_TIMEOUT_MS behind another writer (a long timer step) and then answers 409 busy; the scheduler never
    waits here, it skips locked cases (timers.service). On SQLite the writing transaction already holds the
    database's write lock (BEGIN IMMEDIATE), so a plain read is as good.
    """
    query = sa.select(ProcessInstance).where(ProcessInstance.id == instance_id) \
        .execution_options(populate_existing=True)
    try:
        if db.engine.dialect.name == "postgresql":
            if has_request_context():
                timeout = f"{int(current_app.config['LOCK_TIMEOUT_MS'])}ms"
                db.session.execute(sa.select(sa.func.set_config("lock_timeout", timeout, True)))
            query = query.with_for_update()
        return db.session.scalar(query)
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
    case.steps.clear()
    case.outbox.clear()
    return case


def working_days(start: datetime, days: int) -> datetime:
    """The business calendar the engine's working-day timers count on: Chinese working days (app/calendar),
    due at the office's close on the last of them (TONGBAN_OFFICE_CLOSE, 17:00): a limit of two working days
    set on Friday, at whatever hour, is due on Tuesday when the hall closes."""
    from ..calendar import service as calendar
    from ..clock import SHANGHAI

    local = start.astimezone(SHANGHAI)
    day = calendar.workday_calendar().add_working_days(local.date(), days).date
    close = office_close()
    moment = datetime.combine(day, close, SHANGHAI) if close is not None else datetime.combine(day, local.timetz())
    return moment.astimezone(start.tzinfo)


def office_close() -> time | None:
    text = (current_app.config.get("OFFICE_CLOSE") or "").strip()
    if not text:
        return None
    try:
        return time.fromisoformat(text)
    except ValueError:
        raise ValueError(f"TONGBAN_OFFICE_CLOSE must be HH:MM, not {text!r}") from None


def sandbox_limits() -> SandboxLimits:
    """The script sandbox's limits from the app's config (TONGBAN_SCRIPT_TIMEOUT, TONGBAN_SCRIPT_MEMORY_MB...)."""
    config = current_app.config
    key = (config["SCRIPT_TIMEOUT_SECONDS"], config["SCRIPT_MEMORY_MB"], config["SCRIPT_WORKERS"])
    limits = _limits_cache.get(key)
    if limits is None:
        limits = _limits_cache[key] = SandboxLimits(timeout_seconds=key[0], memory_mb=key[1], workers=key[2])
    return limits


_limits_cache: dict[tuple, SandboxLimits] = {}


def save(instance: ProcessInstance, case: Case, *, actor: str | None, action: str,
         task_id: str | None = None, details: dict[str, Any] | None = None,
         completed_task_id: str | None = None, before_commit: Callable[[], Any] | None = None,
         commit: bool = True, submitted: dict[str, Any] | None = None) -> Saved:
    """Write everything the case's new state implies and commit; 409 if another writer got there first.

    What changed is found by comparing the case's snapshot with its baseline (the state last written), so a
    step reads nothing back from the task, timer and subscription tables: it only writes the differences.
    `before_commit` may read what the step wrote (its result lands in `Saved.extra`), saving a read after
    the commit. With `commit=False` the caller commits several cases at once with `commit_all`.
    """
    at = now()
    instance_key, stored_version, process_key = instance.id, instance.version, instance.process_key
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
        result = hooks.StepResult(
            instance, case.process, before, snap, list(case.steps), at, actor, action,
            next((t for t in before.user_tasks if t.id == completed_task_id), None), dict(submitted or {}))
        hooks.run("before_flush", result)  # plugins that still change the case row (the hall: owner, clock)
        db.session.flush()  # the version check comes first: a losing writer stops before writing anything else
        saved = Saved(snap, _sync_tasks(instance, result, completed_task_id),
                      _sync_timers(instance, before, snap, at))
        result.new_tasks = saved.new_tasks
        _record_submission(instance, result)
        hooks.run("after_flush", result)
        _sync_subscriptions(instance, before, snap)
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
        if isinstance(exc, CaseFailed):  # the new state cannot be stored: an incident, the case as it was
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
    from ..messages import service as messages  # the message service itself saves through this module

    _chain.depth = depth + 1
    try:
        messages.route_thrown(outbox, source)
    finally:
        _chain.depth = depth


def _remember(saved: Saved) -> None:
    """After the commit: the case's new baseline, and its live workflow back in the cache at its new version."""
    instance_id, version, case = saved.written
    case.baseline = saved.snapshot
    _cache().put(instance_id, version, case, current_app.config["WORKFLOW_CACHE_SIZE"])
    case.steps.clear()


def _sync_tasks(instance, result: hooks.StepResult, completed_task_id) -> list[dict]:
    before, snap, at, actor = result.before, result.after, result.at, result.actor
    was_open = {t.id for t in before.user_tasks}
    now_open = {t.id for t in snap.user_tasks}
    boundary_due = _boundary_due(snap, instance)
    new_rows = [
        {"id": t.id, "instance_id": instance.id, "process_key": instance.process_key, "element_id": t.element_id,
         "name": t.name, "post": t.post, "home_post": t.post, "state": "open", "form_key": t.form_key,
         "role": None, "created_at": at, "due_at": boundary_due.get(t.element_id), "priority": 0, "light": None,
         "watch_from": None, "assignee": None, "claimed_at": None, "return_to": None, "completed_at": None,
         "completed_by": None, "other_posts": list(t.other_posts)}
        for t in snap.user_tasks if t.id not in was_open]
    if new_rows:
        hooks.run("new_tasks", result, new_rows)  # plugins route, assign and rank the new tasks
        candidates = [c for row in new_rows for c in candidate_rows(row["id"], row["home_post"], row["other_posts"])]
        _core(_TASKS.insert(), [{k: v for k, v in row.items() if k != "other_posts"} for row in new_rows])
        if candidates:
            _core(_CANDIDATES.insert(), candidates)
    gone = was_open - now_open
    if completed_task_id in gone:
        gone.discard(completed_task_id)
        _core(_TASKS.update().where(_TASKS.c.id == completed_task_id, _TASKS.c.state == "open")
              .values(state="completed", completed_at=at, completed_by=actor,
                      assignee=sa.func.coalesce(_TASKS.c.assignee, actor)))
    if gone:
        _core(_TASKS.update().where(_TASKS.c.id.in_(gone), _TASKS.c.state == "open")
              .values(state="cancelled", completed_at=at))
    return new_rows


def _record_submission(instance, result: hooks.StepResult) -> None:
    """Each completed task keeps its own submitted data (who, when, what) as a record of the case."""
    done = result.completed
    if done is None:
        return
    meta = result.process.user_tasks.get(done.element_id)
    outputs = list(meta.outputs) if meta is not None and meta.outputs else None
    _core(_SUBMISSIONS.insert(), [{"instance_id": instance.id, "task_id": done.id, "element_id": done.element_id,
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


def _sync_timers(instance, before: Snapshot, snap: Snapshot, at: datetime) -> list[dict]:
    was = {t.task_id: t for t in before.timers}
    new_rows = []
    for waiting in snap.timers:
        old = was.pop(waiting.task_id, None)
        if old is None:
            new_rows.append({"instance_id": instance.id, "task_id": waiting.task_id, "element_id": waiting.element_id,
                             "name": waiting.name, "kind": waiting.kind, "due_at": waiting.due_at,
                             "state": "waiting", "created_at": at, "attempts": 0})
        elif old.due_at != waiting.due_at:  # a cycle moved on to its next firing
            _core(_TIMERS.update().where(_TIMERS.c.instance_id == instance.id, _TIMERS.c.task_id == waiting.task_id,
                                         _TIMERS.c.state == "waiting").values(due_at=waiting.due_at, fired_at=at))
    if new_rows:
        _core(_TIMERS.insert(), new_rows)
    if was:
        rows = (_TIMERS.c.instance_id == instance.id) & _TIMERS.c.task_id.in_(list(was)) & (_TIMERS.c.state == "waiting")
        _core(_TIMERS.update().where(rows, _TIMERS.c.due_at <= at).values(state="fired", fired_at=at))
        _core(_TIMERS.update().where(rows, _TIMERS.c.due_at > at).values(state="cancelled"))
    return new_rows


def _sync_subscriptions(instance, before: Snapshot, snap: Snapshot) -> None:
    was = {m.task_id for m in before.messages}
    now_waiting = {m.task_id for m in snap.messages}
    new_rows = [{"instance_id": instance.id, "task_id": m.task_id, "element_id": m.element_id, "name": m.name,
                 "kind": m.kind, "business_key": instance.business_key} for m in snap.messages if m.task_id not in was]
    if new_rows:
        _core(_SUBSCRIPTIONS.insert(), new_rows)
    if was - now_waiting:
        _core(_SUBSCRIPTIONS.delete().where(_SUBSCRIPTIONS.c.instance_id == instance.id,
                                            _SUBSCRIPTIONS.c.task_id.in_(was - now_waiting)))
