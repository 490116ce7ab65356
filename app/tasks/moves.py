"""退回 and 撤回: a clerk moves a case back to an earlier user task, audited with the reason (the runtime's side: who
may do it is app/people/work.py; the hall assigns the reopened step and writes the course's events, reacting to
the actions `task.sent_back` and `task.taken_back` on the step it is handed).

* 退回 (`send_back`): the case's open task is cancelled and a step completed on the path to it reopens, with the
  reason. The path is the case's completions in order, less what earlier moves undid (`path`).
* 撤回 (`take_back`): a clerk's own completed step reopens while the tasks its completion opened are all still
  unclaimed (or held by that clerk) and nothing else has happened to the case since; those tasks are cancelled.

Both take the case's lock first and read the task again under it, move the token with the engine's instance
modification (app/engine/modification.py: what it cannot do, inside a multi-instance say, is refused with its
reason, 409), refuse a move that would leave a parallel branch behind, and save through `runtime.save` — the
task, timer and subscription rows follow from the case's new state, in the same transaction. Nothing is
committed here: the caller commits (`runtime.commit_all`), so a refusal anywhere leaves nothing written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ..audit.models import AuditEntry
from ..engine.errors import CaseFailed
from ..engine.modification import Instruction, ModificationRefused
from ..errors import Conflict
from ..extensions import db
from ..instances import runtime
from ..instances.models import ProcessInstance
from ..instances.service import case_failed
from .models import TaskCandidate, UserTask

SENT_BACK = "task.sent_back"
TAKEN_BACK = "task.taken_back"
MOVES = (SENT_BACK, TAKEN_BACK)
COMPLETED = "task.completed"
WHAT = {SENT_BACK: "退回", TAKEN_BACK: "撤回"}


@dataclass(frozen=True)
class Step:
    """A completed user task on the path to where the case stands now."""

    task_id: str
    element_id: str
    name: str
    post: str | None
    completed_by: str | None
    completed_at: datetime | None

    def view(self) -> dict:
        return {"element_id": self.element_id, "name": self.name, "task_id": self.task_id, "post": self.post,
                "completed_by": self.completed_by, "completed_at": self.completed_at}


@dataclass
class Moved:
    """What a move did: the task acted on, the reopened task, the tasks cancelled, the case's open tasks (rows as
    dicts, read inside the transaction), and the save to commit."""

    saved: runtime.Saved
    task: dict
    reopened: dict
    cancelled: list[dict] = field(default_factory=list)
    open_tasks: list[dict] = field(default_factory=list)
    instance_state: str = "running"
    reason: str | None = None


# -- the path -------------------------------------------------------------------------------------------------------
def path(instance_id: str) -> list[Step]:
    """The completed user tasks on the path to where the case stands, oldest first: every completion in the order
    of the audit trail, each move cutting the path back to before the step it reopened."""
    entries = db.session.execute(
        sa.select(AuditEntry.action, AuditEntry.task_id, AuditEntry.details)
        .where(AuditEntry.instance_id == instance_id, AuditEntry.action.in_((COMPLETED, *MOVES)))
        .order_by(AuditEntry.id)).all()
    done: list[str] = []
    for action, task_id, details in entries:
        if action == COMPLETED:
            if task_id:
                done.append(task_id)
            continue
        target = (details or {}).get("to_element")
        rows = _rows(done)
        for index in range(len(done) - 1, -1, -1):
            row = rows.get(done[index])
            if row is not None and row.element_id == target:
                del done[index:]
                break
    rows = _rows(done)
    return [Step(r.id, r.element_id, r.name, r.post, r.completed_by, r.completed_at)
            for r in (rows.get(task_id) for task_id in done) if r is not None and r.state == "completed"]


def _rows(task_ids: list[str]) -> dict[str, Any]:
    if not task_ids:
        return {}
    return {r.id: r for r in db.session.execute(
        sa.select(UserTask.id, UserTask.element_id, UserTask.name, UserTask.post, UserTask.state,
                  UserTask.completed_by, UserTask.completed_at).where(UserTask.id.in_(set(task_ids))))}


def choices(task: UserTask) -> list[Step]:
    """The earlier steps this open task may be sent back to: each element completed on the path to it, once (its
    latest completion), in the order of those completions; not its own element, nor one open now."""
    if task.state != "open":
        return []
    open_elements = set(db.session.scalars(sa.select(UserTask.element_id).where(
        UserTask.instance_id == task.instance_id, UserTask.state == "open")))
    latest: dict[str, Step] = {}
    for step in path(task.instance_id):
        latest.pop(step.element_id, None)
        latest[step.element_id] = step  # moved to the end: ordered by the latest completion
    return [s for s in latest.values() if s.element_id != task.element_id and s.element_id not in open_elements]


# -- 退回 -------------------------------------------------------------------------------------------------------------
def send_back(task: UserTask, actor: str, to_element: str, reason: str, *, assignee_only: bool = False) -> Moved:
    """Cancel the open task and reopen the earlier step `to_element`, for the clerk who completed it there.

    `assignee_only`: the actor may do it only while holding the task (read again under the case's lock)."""
    instance = _locked(task.instance_id)
    task = _fresh(task.id)
    if task.state != "open":
        _refuse(f"任务「{task.name}」已{'办理' if task.state == 'completed' else '取消'}，不能退回",
                {"task_id": task.id, "state": task.state}, "task_not_open")
    if assignee_only and task.assignee != actor:
        _refuse(f"任务「{task.name}」已不由您认领（{task.assignee or '待认领'}），不能退回",
                {"task_id": task.id, "assignee": task.assignee}, "not_assignee")
    _check_running(instance, SENT_BACK)
    target = next((s for s in choices(task) if s.element_id == to_element), None)
    if target is None:
        offered = [s.element_id for s in choices(task)]
        named = db.session.scalar(sa.select(UserTask.name).where(
            UserTask.instance_id == task.instance_id, UserTask.element_id == to_element).limit(1))
        _refuse(f"「{named or to_element}」不是本办件在「{task.name}」之前已办理的环节，不能退回到那里"
                + (f"（可退回：{'、'.join(s.name for s in choices(task))}）" if offered else "（没有可退回的环节）"),
                {"task_id": task.id, "to": to_element, "choices": offered}, "not_an_earlier_step")
    details = {"from_task_id": task.id, "from_element": task.element_id, "from_name": task.name,
               "from_post": task.post, "from_assignee": task.assignee, "to_element": target.element_id,
               "to_name": target.name, "to_post": target.post, "reopen_for": target.completed_by,
               "reason": reason}
    return _move(instance, SENT_BACK, actor, task, cancel=[task.id], to=target.element_id, details=details,
                 reason=reason)


# -- 撤回 -------------------------------------------------------------------------------------------------------------
def take_back(task: UserTask, actor: str, reason: str | None = None) -> Moved:
    """Reopen one's own completed step for oneself, cancelling the tasks its completion opened, while they are all
    unclaimed and nothing else has happened to the case since."""
    instance = _locked(task.instance_id)
    task = _fresh(task.id)
    if task.state != "completed":
        _refuse(f"任务「{task.name}」{'尚未办理' if task.state == 'open' else '已取消'}，不能撤回",
                {"task_id": task.id, "state": task.state}, "not_completed")
    _check_running(instance, TAKEN_BACK)
    try:
        successors = following(task, instance, lock=True)
    except Conflict:
        db.session.rollback()
        raise
    details = {"task_id": task.id, "from_element": task.element_id, "from_name": task.name, "from_post": task.post,
               "to_element": task.element_id, "to_name": task.name, "to_post": task.post, "reopen_for": actor,
               "cancelled": [{"task_id": s.id, "element_id": s.element_id, "name": s.name} for s in successors],
               "reason": reason}
    return _move(instance, TAKEN_BACK, actor, task, cancel=[s.id for s in successors], to=task.element_id,
                 details=details, reason=reason)


def following(task: UserTask, instance: ProcessInstance, *, lock: bool = False) -> list[UserTask]:
    """The open tasks the completion of `task` opened, if it may still be taken back: 409 when the case moved on
    (another step since), a task it opened was claimed by someone else, or it opened none. `lock`: their rows
    write-locked (the act; a page asking only reads). Changes nothing, rolls nothing back."""
    name = task.name
    if instance.updated_at != task.completed_at:
        _conflict(f"「{name}」办理之后办件已有新的进展，不能撤回", {"task_id": task.id}, "case_moved_on")
    query = sa.select(UserTask).where(UserTask.instance_id == task.instance_id, UserTask.state == "open") \
        .order_by(UserTask.created_at).execution_options(populate_existing=True)
    open_rows = list(db.session.scalars(_for_update(query) if lock else query))
    successors = [t for t in open_rows if t.created_at == task.completed_at]
    others = [t for t in open_rows if t.created_at != task.completed_at]
    if not successors:
        _conflict(f"「{name}」办理后没有待办的下一环节，不能撤回", {"task_id": task.id}, "case_moved_on")
    held = [t for t in successors if t.assignee not in (None, task.completed_by)]
    if held:
        first = held[0]
        _conflict(f"下一环节「{first.name}」已被 {first.assignee} 认领，不能撤回",
                  {"task_id": task.id, "successor": first.id, "successor_name": first.name, "assignee": first.assignee},
                  "successor_claimed")
    if others:
        _conflict(f"办件还有其他进行中的环节「{'、'.join(t.name for t in others)}」，不能单独撤回「{name}」",
                  {"task_id": task.id, "open": [t.id for t in others]}, "parallel_branch")
    return successors


def may_take_back(task: UserTask, username: str) -> str | None:
    """Why `username` may not take the task back now (a message), or None: they may. Reads without locking, for
    pages that offer the button; the act itself checks again under the case's lock."""
    if task.state != "completed" or task.completed_by != username:
        return "只有办理该环节的本人可以撤回"
    instance = db.session.get(ProcessInstance, task.instance_id)
    if instance is None or instance.state != "running":
        return "办件已不在办理中"
    try:
        following(task, instance)
    except Conflict as exc:
        return exc.message
    return None


# -- the move ---------------------------------------------------------------------------------------------------------
def _move(instance: ProcessInstance, action: str, actor: str, task: UserTask, *, cancel: list[str], to: str,
          details: dict[str, Any], reason: str | None) -> Moved:
    what = WHAT[action]
    case = runtime.load(instance)
    before = case.baseline or case.snapshot()
    instructions = [*(Instruction("cancel", task_id=task_id) for task_id in cancel), Instruction("startBeforeActivity", to)]
    try:
        case.modify(instructions)
    except ModificationRefused as exc:  # the engine cannot: inside a multi-instance in flight, say
        _refuse(f"不能{what}：{exc.message}", {"task_id": task.id, "element": exc.element, "reason": exc.message},
                "move_refused")
    except CaseFailed as exc:
        db.session.rollback()
        raise case_failed(exc, instance, action=action, actor=actor) from None
    after = case.snapshot()
    was = {t.id for t in before.user_tasks}
    now_open = {t.id for t in after.user_tasks}
    left = [t for t in before.user_tasks if t.id in now_open]
    if left:  # a parallel branch would go on beside the reopened step: its join could not count them
        _refuse(f"办件还有并行进行中的环节「{'、'.join(t.name for t in left)}」，不能{what}到「{details['to_name']}」",
                {"task_id": task.id, "open": [t.id for t in left]}, "parallel_branch")
    reopened = [t for t in after.user_tasks if t.id not in was]
    if after.state != "running" or not reopened or any(t.element_id != to for t in reopened):
        _refuse(f"{what}后办件不会停在「{details['to_name']}」，已拒绝", {"task_id": task.id, "element": to},
                "move_refused")
    details = {**details, "reopened_task_id": reopened[0].id}
    saved = runtime.save(instance, case, actor=actor, action=action, task_id=task.id, details=details, commit=False)
    rows = _rows_after(instance.id, [task.id, *cancel, *(t.id for t in reopened)])
    by_id = {r["id"]: r for r in rows}
    return Moved(saved, by_id[task.id], by_id[reopened[0].id], [by_id[i] for i in cancel if i in by_id],
                 [r for r in rows if r["state"] == "open"], after.state, reason)


def _rows_after(instance_id: str, ids: list[str]) -> list[dict]:
    """The named task rows and the case's open ones, as plain dicts (with their further candidate posts), read in
    the move's transaction."""
    table, candidates = UserTask.__table__, TaskCandidate.__table__
    conn = db.session.connection()
    rows = [dict(r) for r in conn.execute(sa.select(table).where(
        table.c.instance_id == instance_id, sa.or_(table.c.state == "open", table.c.id.in_(ids)))
        .order_by(table.c.created_at, table.c.id)).mappings()]
    others: dict[str, list[str]] = {}
    for task_id, post in conn.execute(sa.select(candidates.c.task_id, candidates.c.post).where(
            candidates.c.task_id.in_([r["id"] for r in rows])).order_by(candidates.c.post)):
        others.setdefault(task_id, []).append(post)
    for row in rows:
        row["other_posts"] = others.get(row["id"], [])
    return rows


def _locked(instance_id: str) -> ProcessInstance:
    instance = runtime.lock(instance_id)  # the case row first, as every writer of a case
    if instance is None:
        _refuse("办件不存在", {"instance_id": instance_id}, "not_running")
    return instance


def _fresh(task_id: str) -> UserTask:
    """The task row read again, after the case's row (the lock order every writer keeps)."""
    return db.session.scalar(_for_update(sa.select(UserTask).where(UserTask.id == task_id)
                                         .execution_options(populate_existing=True)))


def _for_update(query):
    """Write-locked on PostgreSQL: a claim of the row (which takes no case lock) waits for the move, or the move
    reads the claim that got there first. SQLite's writer holds the database already."""
    return query.with_for_update() if db.engine.dialect.name == "postgresql" else query


def _check_running(instance: ProcessInstance, action: str) -> None:
    if instance.state != "running":
        states = {"completed": "已办结", "cancelled": "已撤销", "error": "出错待处理", "suspended": "已挂起"}
        _refuse(f"办件{states.get(instance.state, instance.state)}，不能{WHAT[action]}",
                {"instance_id": instance.id, "state": instance.state}, "not_running")


def _conflict(message: str, details: dict, code: str):
    raise Conflict(message, details, code=code)


def _refuse(message: str, details: dict, code: str):
    db.session.rollback()  # the case row's lock goes with the refusal; the live case taken out by load is dropped
    raise Conflict(message, details, code=code)


# -- what the reopened task says ------------------------------------------------------------------------------------
def returned(task: UserTask) -> dict | None:
    """Why this task is open again: the 退回 (or 撤回) that reopened it — who, why, when, from which step."""
    entries = db.session.execute(
        sa.select(AuditEntry.action, AuditEntry.actor, AuditEntry.at, AuditEntry.details)
        .where(AuditEntry.instance_id == task.instance_id, AuditEntry.action.in_(MOVES))
        .order_by(AuditEntry.id.desc())).all()
    for action, actor, at, details in entries:
        details = details or {}
        if details.get("reopened_task_id") == task.id:
            return {"kind": "sent_back" if action == SENT_BACK else "taken_back", "by": actor, "at": at,
                    "reason": details.get("reason"), "from_step": details.get("from_name"),
                    "from_element": details.get("from_element"),
                    "from_task_id": details.get("from_task_id") or details.get("task_id")}
    return None
