"""Firing due timers: an indexed query on due time, each case in its own transaction, each timer once.

The pick reads the timer table alone (`ix_timer_state_due`, pages in due order), then the cases of a page by
primary key: no join whose plan depends on the planner's statistics (a join planned on stale statistics after a
bulk of new timers made each pick quadratic). Timers of a case in error (an incident) or suspended by ops wait in
their rows; a pass pages past them, so they never block the timers behind them.

On PostgreSQL several server processes may run this at once. A process counts the attempts of a few due timers
(LEASE) in one transaction, their rows `FOR UPDATE SKIP LOCKED` (a timer another process holds is skipped, never
waited for), and commits; each then fires in its own transaction, its case row locked `SKIP LOCKED` — a case a
request (or another process) is working on is left for the next pass and its attempt uncounted (requests give up
after LOCK_TIMEOUT_MS with 409 busy). A counted attempt younger than ATTEMPT_STALE is another process's lease.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from time import monotonic

import sqlalchemy as sa

from ..audit import service as audit
from ..clock import now
from ..engine.errors import CaseFailed
from ..errors import Conflict
from ..extensions import db
from ..instances import runtime
from ..instances.models import ATTEMPT_RUNNING, ProcessInstance
from . import start_cycles
from .models import Timer

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 3
# an attempt not finished after this long was a process that died (no step runs this long: scripts and lock waits
# have bounds far shorter); younger, it is another process's, still running
ATTEMPT_STALE = timedelta(minutes=5)
RETRY_DELAY = timedelta(seconds=10)


PAGE = 200  # due timers read per query; a pass reads pages until it has tried `limit` of them


def _due_page(at, after: tuple | None) -> list:
    """The next page of due timers in due order, from the timer table alone (keyset paging past `after`)."""
    query = (sa.select(Timer.id, Timer.instance_id, Timer.due_at)
             .where(Timer.state == "waiting", Timer.due_at <= at).order_by(Timer.due_at, Timer.id).limit(PAGE))
    if after is not None:
        query = query.where(sa.tuple_(Timer.due_at, Timer.id) > sa.tuple_(*after))
    return list(db.session.execute(query))


def _running(instance_ids: set[str]) -> set[str]:
    return set(db.session.scalars(sa.select(ProcessInstance.id).where(
        ProcessInstance.id.in_(instance_ids), ProcessInstance.state == "running")))


def _claim(timer_id: int, instance_id: str, at) -> Timer | None:
    """The due timer, and its case row locked, both SKIP LOCKED on PostgreSQL: None when the case is busy, no
    longer running, or the timer was fired or moved meanwhile, or another process has just begun an attempt at it.
    The timer row comes first: such an attempt is left to its process before its case is touched (that process
    locks the case next); neither lock ever waits, so the order cannot deadlock with a step's (case, then timers)."""
    skip = db.engine.dialect.name == "postgresql"
    query = (sa.select(Timer).where(Timer.id == timer_id, Timer.state == "waiting", Timer.due_at <= at)
             .execution_options(populate_existing=True))
    if skip:
        query = query.with_for_update(skip_locked=True)
    timer = db.session.scalar(query)
    if timer is None or _attempt_running(timer, at):
        return None
    case = sa.select(ProcessInstance.state).where(ProcessInstance.id == instance_id)
    if skip:
        case = case.with_for_update(skip_locked=True)
    if db.session.scalar(case) != "running":
        return None
    return timer


def _attempt_running(timer: Timer, at) -> bool:
    """An attempt begun and not finished, younger than ATTEMPT_STALE: another process's, still running."""
    return (timer.last_error or "").startswith(RUNNING) and timer.attempt_started_at is not None \
        and at - timer.attempt_started_at < ATTEMPT_STALE


def drain_due(budget_seconds: float = 5.0, limit: int = 100) -> int:
    """The scheduler's pass: passes of up to `limit` timers while a pass finds a full page of due ones and the
    budget lasts, so a burst of timers falling due together is drained without waiting for the next tick between
    every hundred. Returns how many cases were advanced."""
    began = monotonic()
    advanced = 0
    while True:
        tried, moved = _fire_pass(limit)
        advanced += moved
        if tried < limit or monotonic() - began >= budget_seconds:
            return advanced


def fire_due(limit: int = 100) -> int:
    """Fire up to `limit` due timers; returns how many cases were advanced."""
    return _fire_pass(limit)[1]


LEASE = 10  # due timers whose attempts one transaction counts before each fires in its own (a dead process's
# unfired ones wait ATTEMPT_STALE, so the lease stays short)


def _fire_pass(limit: int) -> tuple[int, int]:
    """(timers tried, cases advanced) of one pass over up to `limit` due timers."""
    advanced = tried = 0
    after = None
    while tried < limit:
        at = now()
        page = _due_page(at, after)
        db.session.rollback()
        if not page:
            break
        after = (page[-1].due_at, page[-1].id)
        running = _running({row.instance_id for row in page})
        db.session.rollback()
        due = [row for row in page if row.instance_id in running]
        while due and tried < limit:
            lease, due = due[:min(LEASE, limit - tried)], due[min(LEASE, limit - tried):]
            claimed, unfinished = _begin_attempts(lease)
            for attempt in claimed:
                tried += 1
                advanced += _run(*attempt)
            for timer_id, instance_id in unfinished:  # an attempt that never came back: its case locked first
                timer = _claim(timer_id, instance_id, now())
                if timer is None:
                    db.session.rollback()
                    continue
                tried += 1
                advanced += _attempt(timer)
        if len(page) < PAGE:
            break
    return tried, advanced


def _begin_attempts(rows: list) -> tuple[list[tuple], list[tuple[int, str]]]:
    """Count an attempt at each of these due timers in one transaction (see _begin_attempt: committed before
    their steps run) and return them as (timer id, case id, last error before, attempt begun before) — and apart,
    as (timer id, case id), those whose last attempt never came back (counted one by one, their case locked: an
    incident may follow). Timers fired, moved or locked meanwhile, or with another process's attempt running, are
    left out; a case a request holds is found in `_fire`, and its attempt uncounted."""
    at = now()
    query = (sa.select(Timer).where(Timer.id.in_([row.id for row in rows]), Timer.state == "waiting",
                                    Timer.due_at <= at)
             .order_by(Timer.due_at, Timer.id).execution_options(populate_existing=True))
    if db.engine.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    claimed, unfinished = [], []
    for timer in db.session.scalars(query):
        if _attempt_running(timer, at):
            continue
        if (timer.last_error or "").startswith(RUNNING):
            unfinished.append((timer.id, timer.instance_id))
            continue
        claimed.append((timer.id, timer.instance_id, timer.last_error, timer.attempt_started_at))
    if claimed:  # one statement for the lease (the rows are locked: nobody changed them since the read)
        db.session.execute(sa.update(Timer).where(Timer.id.in_([c[0] for c in claimed])).values(
            attempts=Timer.attempts + 1, attempt_started_at=at,
            last_error=sa.literal(f"{RUNNING}（第 ") + sa.cast(Timer.attempts + 1, sa.String) + " 次）"),
            execution_options={"synchronize_session": False})
    db.session.commit()
    return claimed, unfinished


def _attempt(timer: Timer) -> int:
    """One attempt at a claimed timer: 1 when its case advanced."""
    # before the commit expires them
    timer_id, instance_id, before, began = timer.id, timer.instance_id, timer.last_error, timer.attempt_started_at
    if not _begin_attempt(timer):
        return 0  # another process is at it, or its attempts were spent by runs that never came back (an incident)
    return _run(timer_id, instance_id, before, began)


def _run(timer_id: int, instance_id: str, before: str | None, began) -> int:
    """Fire a timer whose attempt is counted: 1 when its case advanced; an attempt that did not run is uncounted,
    one that failed is recorded (retried, or an incident)."""
    try:
        if _fire(timer_id, instance_id):
            return 1
        _undo_attempt(timer_id, before, began)
    except Conflict:
        db.session.rollback()  # another writer changed the case meanwhile; the next pass sees the new state
        _undo_attempt(timer_id, before, began)
    except CaseFailed as exc:
        db.session.rollback()
        _record_failure(timer_id, exc)
    except Exception as exc:  # keep the scheduler alive; the timer is retried and then marked failed
        log.exception("timer %s failed", timer_id)
        db.session.rollback()
        _record_failure(timer_id, exc)
    return 0


RUNNING = ATTEMPT_RUNNING  # last_error while an attempt runs: still there next time, the attempt never came back
DIED = "触发时服务进程终止，未完成 (the server process died while firing the timer)"


def _begin_attempt(timer: Timer) -> bool:
    """Count the attempt and commit it before the step runs: a step that kills its process (a hostile diagram, an
    out-of-memory kill, a worker timeout) has still used an attempt, and the third such timer is an incident
    instead of a loop of dying workers. An unfinished attempt younger than ATTEMPT_STALE is another process's,
    still running (between its commit of the attempt and its lock of the case): left to it, not counted. False
    when the timer is not to be fired now (its attempts are spent: failed now; or another process is at it)."""
    at = now()
    if _attempt_running(timer, at):
        db.session.rollback()
        return False
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
    timer.attempt_started_at = at
    db.session.commit()
    return True


def _undo_attempt(timer_id: int, last_error: str | None, started_at) -> None:
    """An attempt that did not run (the case was busy, or fired by another server): not counted."""
    db.session.execute(db.update(Timer).where(Timer.id == timer_id, Timer.last_error.startswith(RUNNING))
                       .values(attempts=Timer.attempts - 1, last_error=last_error, attempt_started_at=started_at))
    db.session.commit()


def _fire(timer_id: int, instance_id: str) -> bool:
    """Run a due timer's case (locked again after the attempt was committed); False when another writer has
    fired or ended it meanwhile. The step that runs it ends its attempt (`attempt_returned`, in the runtime's write
    of the timer's row)."""
    locked = _lock_case(instance_id, timer_id)
    if locked is None:  # a request holds the case right now (or the timer is gone): the next pass
        db.session.rollback()
        return False
    instance, timer = locked
    if timer.state != "waiting" or timer.due_at > now():
        db.session.rollback()
        return False
    if instance.state != "running":
        db.session.execute(sa.update(Timer).where(Timer.id == timer_id).values(state="cancelled", last_error=None))
        db.session.commit()
        return True
    case = runtime.load(instance)
    cycle = case.pending_start_cycle() if timer.kind == "start" else None
    case.fire_timers()
    saved = runtime.save(instance, case, actor=None, action="timer.fired", task_id=timer.task_id,
                         details={"element": timer.element_id, "name": timer.name, "due_at": timer.due_at.isoformat()},
                         commit=cycle is None)
    if cycle is not None:  # a start event's cycle: the next firing is the next case's (start_cycles.py)
        start_cycles.arm_next(instance, case, cycle, saved)
    return True


_LOCK_CASE = (sa.select(ProcessInstance, Timer.state, Timer.due_at, Timer.kind, Timer.task_id, Timer.element_id,
                        Timer.name)
              .join(Timer, sa.and_(Timer.instance_id == ProcessInstance.id, Timer.id == sa.bindparam("timer_id")))
              .where(ProcessInstance.id == sa.bindparam("case_id")).execution_options(populate_existing=True)
              .with_for_update(of=ProcessInstance, skip_locked=True))  # SQLite renders none: its writer holds all


def _lock_case(instance_id: str, timer_id: int) -> tuple[ProcessInstance, sa.Row] | None:
    """The case row, write-locked, with what the timer's row says now (one statement); None when another writer
    holds the case (PostgreSQL: SKIP LOCKED, never a wait) or the timer is gone."""
    row = db.session.execute(_LOCK_CASE, {"case_id": instance_id, "timer_id": timer_id}).first()
    return None if row is None else (row[0], row)


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
