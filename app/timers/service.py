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
        timer_id, before = timer.id, timer.last_error
        if not _begin_attempt(timer):
            continue  # its attempts were spent by runs that never came back: an incident now
        try:
            if _fire(timer_id):
                advanced += 1
            else:
                skipped.add(timer_id)
                _undo_attempt(timer_id, before)
        except Conflict:
            db.session.rollback()
            skipped.add(timer_id)  # another writer changed the case meanwhile; its next pass sees the new state
        except CaseFailed as exc:
            db.session.rollback()
            _record_failure(timer_id, exc)
        except Exception as exc:  # keep the scheduler alive; the timer is retried and then marked failed
            log.exception("timer %s failed", timer_id)
            db.session.rollback()
            _record_failure(timer_id, exc)
    return advanced


RUNNING = "正在触发"  # last_error while an attempt runs: still there next time, the attempt never came back
DIED = "触发时服务进程终止，未完成 (the server process died while firing the timer)"


def _begin_attempt(timer: Timer) -> bool:
    """Count the attempt and commit it before the step runs: a step that kills its process (a hostile diagram, an
    out-of-memory kill, a worker timeout) has still used an attempt, and the third such timer is an incident
    instead of a loop of dying workers. False when the attempts are spent (the timer is failed now)."""
    died = (timer.last_error or "").startswith(RUNNING)
    if died and timer.attempts >= MAX_ATTEMPTS:
        _fail(timer, DIED)
        db.session.commit()
        return False
    if died:
        log.warning("timer %s of case %s: attempt %s did not come back (process died)", timer.id,
                    timer.instance_id, timer.attempts, extra={"case_id": timer.instance_id})
    timer.attempts += 1
    timer.last_error = f"{RUNNING}（第 {timer.attempts} 次）" + (f"；上次：{DIED}" if died else "")
    db.session.commit()
    return True


def _undo_attempt(timer_id: int, last_error: str | None) -> None:
    """An attempt that did not run (the case was busy, or fired by another server): not counted."""
    db.session.execute(db.update(Timer).where(Timer.id == timer_id, Timer.last_error.startswith(RUNNING))
                       .values(attempts=Timer.attempts - 1, last_error=last_error))
    db.session.commit()


def _fire(timer_id: int) -> bool:
    """Run a due timer's case (locked again after the attempt was committed); False when another writer has
    fired or ended it meanwhile."""
    timer = db.session.get(Timer, timer_id)
    instance = _lock_case(timer.instance_id) if timer is not None else None
    if instance is None:  # a request holds the case right now: the next pass
        db.session.rollback()
        return False
    db.session.refresh(timer)
    if timer.state != "waiting" or timer.due_at > now():
        db.session.rollback()
        return False
    if instance.state != "running":
        timer.state, timer.last_error = "cancelled", None
        db.session.commit()
        return True
    case = runtime.load(instance)
    cycle = case.pending_start_cycle() if timer.kind == "start" else None
    case.fire_timers()
    # the attempt came back: `attempts` counts the failed ones, and a cycle's next firing starts afresh
    again = any(t.task_id == timer.task_id for t in case.waiting_timers())
    timer.attempts, timer.last_error = (0 if again else timer.attempts - 1), None
    saved = runtime.save(instance, case, actor=None, action="timer.fired", task_id=timer.task_id,
                         details={"element": timer.element_id, "name": timer.name, "due_at": timer.due_at.isoformat()},
                         commit=cycle is None)
    if cycle is not None:  # a start event's cycle: the next firing is the next case's (start_cycles.py)
        start_cycles.arm_next(instance, case, cycle, saved)
    return True


def _lock_case(instance_id: str) -> ProcessInstance | None:
    """The case row, write-locked; None when another writer holds it (PostgreSQL: SKIP LOCKED, never a wait)."""
    query = db.select(ProcessInstance).where(ProcessInstance.id == instance_id) \
        .execution_options(populate_existing=True)
    if db.engine.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return db.session.scalar(query)


def _fail(timer: Timer, message: str) -> None:
    """The timer is an incident: failed, its case in error, an ERROR line and an audit entry."""
    timer.state = "failed"
    timer.last_error = message
    instance = db.session.get(ProcessInstance, timer.instance_id)
    if instance is not None:  # an incident: the case waits for ops to look (see retry)
        instance.state = "error"
        instance.error = f"定时器 {timer.name} 触发失败: {message}"
    audit.record("timer.failed", actor=None, instance_id=timer.instance_id, task_id=timer.task_id,
                 element_id=timer.element_id, details={"error": message, "attempts": timer.attempts})
    log.error("incident timer-%s: timer %s (%s) of case %s failed for good after %s attempts: %s",
              timer.id, timer.name, timer.element_id, timer.instance_id, timer.attempts, message,
              extra={"case_id": timer.instance_id, "incident": f"timer-{timer.id}", "element": timer.element_id})


def _record_failure(timer_id: int, exc: Exception) -> None:
    """An attempt that came back with an error (its attempt is already counted): retried later, or an incident."""
    timer = db.session.get(Timer, timer_id)
    if timer is None:
        return
    runtime.lock(timer.instance_id)  # the case row before the timer row, as every writer of a case
    db.session.refresh(timer)
    message = getattr(exc, "message", None) or str(exc)
    if timer.state != "waiting":
        db.session.rollback()
        return
    if timer.attempts >= MAX_ATTEMPTS:
        _fail(timer, message)
    else:
        timer.last_error = message
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
