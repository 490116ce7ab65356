"""Loading and saving cases: the engine state, task rows, timers, subscriptions and audit in one transaction.

Live workflows are cached per process by (instance id, row version); a cache entry is taken out while a
request works on it, so two threads never share one workflow object, and it is put back only after a commit.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy.orm.exc import StaleDataError

from ..audit import service as audit
from ..clock import app_clock, now
from ..definitions import service as definitions
from ..definitions.models import ProcessDefinition
from ..engine.case import Case, Snapshot
from ..errors import Conflict
from ..extensions import db
from ..messages.models import MessageSubscription
from ..tasks.models import UserTask
from ..timers.models import Timer
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


cache = _WorkflowCache()


def load(instance: ProcessInstance) -> Case:
    """The live case of a row: from the cache when it holds this very version, else deserialized."""
    clock = app_clock(current_app._get_current_object())
    case = cache.take(instance.id, instance.version)
    if case is None:
        process = definitions.compiled(db.session.get(ProcessDefinition, instance.definition_id))
        case = Case.load(process, instance.engine_state, clock)
    else:
        case.set_clock(clock)
    case.steps.clear()
    return case


def save(instance: ProcessInstance, case: Case, *, actor: str | None, action: str,
         task_id: str | None = None, details: dict[str, Any] | None = None,
         completed_task_id: str | None = None) -> Snapshot:
    """Write everything the case's new state implies and commit; 409 if another writer got there first."""
    at = now()
    snap = case.snapshot()
    new = instance.version is None
    try:
        if instance.state != "cancelled":
            instance.state = snap.state
        instance.data = snap.data
        instance.error = snap.error
        instance.engine_state = case.dump()
        instance.updated_at = at
        if instance.state in ("completed", "cancelled") and instance.ended_at is None:
            instance.ended_at = at
        if new:
            db.session.add(instance)
            db.session.flush()
        _sync_tasks(instance, snap, at, actor, completed_task_id, new)
        _sync_timers(instance, snap, at, new)
        _sync_subscriptions(instance, snap, new)
        for step in case.steps:
            audit.record("engine.step", actor=None, instance_id=instance.id, element_id=step.element_id,
                         details={"name": step.name, "type": step.kind})
        audit.record(action, actor=actor, instance_id=instance.id, task_id=task_id, details=details or {})
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        raise Conflict("该办件已被他人同时处理，请刷新后重试 (concurrent update)", {"instance_id": instance.id}) from None
    except Exception:
        db.session.rollback()
        raise
    cache.put(instance.id, instance.version, case, current_app.config["WORKFLOW_CACHE_SIZE"])
    case.steps.clear()
    return snap


def _sync_tasks(instance, snap: Snapshot, at: datetime, actor, completed_task_id, new: bool) -> None:
    existing = {t.id: t for t in db.session.scalars(
        db.select(UserTask).where(UserTask.instance_id == instance.id, UserTask.state == "open"))} \
        if not new else {}
    boundary_due = _boundary_due(snap, instance)
    for open_task in snap.user_tasks:
        if open_task.id in existing:
            existing.pop(open_task.id)
            continue
        db.session.add(UserTask(
            id=open_task.id, instance_id=instance.id, process_key=instance.process_key,
            element_id=open_task.element_id, name=open_task.name, post=open_task.post, state="open",
            form_key=open_task.form_key, created_at=at, due_at=boundary_due.get(open_task.element_id),
            priority=_priority(instance)))
    for gone in existing.values():
        gone.state = "completed" if gone.id == completed_task_id else "cancelled"
        gone.completed_at = at
        if gone.id == completed_task_id:
            gone.completed_by = actor


def _priority(instance: ProcessInstance) -> int:
    return 1 if (instance.data or {}).get("green_channel") else 0


def _boundary_due(snap: Snapshot, instance) -> dict[str, datetime]:
    """A task's due date: the earliest timer on its boundary (the escalation deadline), when it has one."""
    process = definitions.compiled(db.session.get(ProcessDefinition, instance.definition_id))
    due: dict[str, datetime] = {}
    for timer in snap.timers:
        attached = process.boundary_of.get(timer.element_id)
        if attached and (attached not in due or timer.due_at < due[attached]):
            due[attached] = timer.due_at
    return due


def _sync_timers(instance, snap: Snapshot, at: datetime, new: bool) -> None:
    existing = {t.task_id: t for t in db.session.scalars(
        db.select(Timer).where(Timer.instance_id == instance.id, Timer.state == "waiting"))} \
        if not new else {}
    for waiting in snap.timers:
        row = existing.pop(waiting.task_id, None)
        if row is None:
            db.session.add(Timer(instance_id=instance.id, task_id=waiting.task_id, element_id=waiting.element_id,
                                 name=waiting.name, kind=waiting.kind, due_at=waiting.due_at, state="waiting",
                                 created_at=at))
        elif row.due_at != waiting.due_at:  # a cycle moved on to its next firing
            row.due_at = waiting.due_at
            row.fired_at = at
    for gone in existing.values():
        fired = gone.due_at <= at
        gone.state = "fired" if fired else "cancelled"
        gone.fired_at = at if fired else None


def _sync_subscriptions(instance, snap: Snapshot, new: bool) -> None:
    existing = {s.task_id: s for s in db.session.scalars(
        db.select(MessageSubscription).where(MessageSubscription.instance_id == instance.id))} \
        if not new else {}
    for waiting in snap.messages:
        if existing.pop(waiting.task_id, None) is None:
            db.session.add(MessageSubscription(instance_id=instance.id, task_id=waiting.task_id,
                                               element_id=waiting.element_id, name=waiting.name,
                                               business_key=instance.business_key))
    for gone in existing.values():
        db.session.delete(gone)


def forget(instance_id: str) -> None:
    """Drop a cached workflow whose changes were not committed."""
    cache.take(instance_id, -1)
