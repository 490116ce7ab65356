"""Firing due timers: an indexed query on due time, each case in its own transaction, each timer once.

On PostgreSQL several server processes may run this at once: `FOR UPDATE SKIP LOCKED` hands each due timer
row to one of them, together with its case row. Taking the case row with it keeps the lock order every writer of
a case keeps (case row first; SKIP LOCKED never waits, so the two rows cannot deadlock), and a case that a
request is working on is simply left for the next pass rather than waited for (nor does it wait for us long:
requests give up after LOCK_TIMEOUT_MS with 409 busy).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from ..audit import service as audit
from ..clock import now
from ..engine.errors import CaseFailed
from ..errors import Conflict
from ..extensions import db
from ..instances import runtime
from ..instances.models import ProcessInstance
from . import start_cycles
from .models import Timer

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 3
RETRY_DELAY = timedelta(seconds=10)


def _next_due(at):
    # Timers of a case in error (an incident) wait until ops retry it; they are not lost meanwhile.
    query = (db.select(Timer).join(ProcessInstance, ProcessInstance.id == Timer.instance_id)
             .where(Timer.state == "waiting", Timer.due_at <= at, ProcessInstance.state == "running")
             .order_by(Timer.due_at, Timer.id).limit(1))
    if db.engine.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=(Timer, ProcessInstance))
    return db.session.scalar(query)


def fire_due(limit: int = 100) -> int:
    """Fire up to `limit` due timers; returns how many cases were advanced."""
    advanced = 0
    skipped: set[int] = set()
    for _ in range(limit):
        at = now()
        timer = _next_due(at)
        if timer is None or timer.id in skipped:
            db.session.rollback()
            break
        try:
            _fire(timer)
            advanced += 1
        except Conflict:
            skipped.add(timer.id)  # another writer changed the case meanwhile; its next pass sees the new state
        except CaseFailed as exc:
            db.session.rollback()
            _record_failure(timer.id, exc)
        except Exception as exc:  # keep the scheduler alive; the timer is retried and then marked failed
            log.exception("timer %s failed", timer.id)
            db.session.rollback()
            _record_failure(timer.id, exc)
    return advanced


def _fire(timer: Timer) -> None:
    instance = db.session.get(ProcessInstance, timer.instance_id, populate_existing=True)  # locked by _next_due
    if instance is None or instance.state != "running":
        timer.state = "cancelled"
        db.session.commit()
        return
    case = runtime.load(instance)
    cycle = case.pending_start_cycle() if timer.kind == "start" else None
    case.fire_timers()
    saved = runtime.save(instance, case, actor=None, action="timer.fired", task_id=timer.task_id,
                         details={"element": timer.element_id, "name": timer.name, "due_at": timer.due_at.isoformat()},
                         commit=cycle is None)
    if cycle is not None:  # a start event's cycle: the next firing is the next case's (start_cycles.py)
        start_cycles.arm_next(instance, case, cycle, saved)


def _record_failure(timer_id: int, exc: Exception) -> None:
    timer = db.session.get(Timer, timer_id)
    if timer is None:
        return
    runtime.lock(timer.instance_id)  # the case row before the timer row, as every writer of a case
    message = getattr(exc, "message", None) or str(exc)
    timer.attempts += 1
    timer.last_error = message
    if timer.attempts >= MAX_ATTEMPTS:
        timer.state = "failed"
        instance = db.session.get(ProcessInstance, timer.instance_id)
        if instance is not None:  # an incident: the case waits for ops to look (see retry)
            instance.state = "error"
            instance.error = f"定时器 {timer.name} 触发失败: {message}"
        audit.record("timer.failed", actor=None, instance_id=timer.instance_id, task_id=timer.task_id,
                     element_id=timer.element_id, details={"error": message, "attempts": timer.attempts})
        log.error("incident timer-%s: timer %s (%s) of case %s failed for good after %s attempts: %s",
                  timer.id, timer.name, timer.element_id, timer.instance_id, timer.attempts, message,
                  extra={"case_id": timer.instance_id, "incident": f"timer-{timer.id}", "element": timer.element_id})
    else:
        timer.due_at = now() + RETRY_DELAY
        log.warning("timer %s of case %s failed (attempt %s of %s): %s", timer.id, timer.instance_id,
                    timer.attempts, MAX_ATTEMPTS, message, extra={"case_id": timer.instance_id})
    db.session.commit()


def retry(timer: Timer, actor: str | None) -> Timer:
    """Give a failed timer (an incident) another three attempts, due now; its case runs again."""
    if timer.state != "failed":
        raise Conflict("只有失败的定时器可以重试", {"timer_id": timer.id, "state": timer.state})
    instance = runtime.lock(timer.instance_id)
    timer.state, timer.attempts, timer.due_at = "waiting", 0, now()
    if instance is not None and instance.state == "error":
        instance.state, instance.error = "running", None
    audit.record("timer.retried", actor=actor, instance_id=timer.instance_id, task_id=timer.task_id,
                 element_id=timer.element_id, details={"last_error": timer.last_error})
    db.session.commit()
    return timer
