"""Finding, claiming and completing user tasks: the runtime's operations, for an actor someone else has already
allowed (who may do what is app/people: `access` decides, `work` composes the checks with these)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from ..audit import service as audit
from ..audit.service import data_changes
from ..clock import now
from ..definitions import service as definitions
from ..engine.errors import CaseFailed, TaskNotReady
from ..errors import Conflict, NotFound
from ..extensions import db
from ..forms import service as forms
from ..instances import hooks, runtime
from ..instances.models import PostTally, ProcessInstance
from ..instances.service import case_failed
from . import prefill, task_forms
from .models import TaskCandidate, TaskSubmission, UserTask, candidate_rows


def get_or_404(task_id: str) -> UserTask:
    task = db.session.get(UserTask, task_id)
    if task is None:
        raise NotFound(f"任务 {task_id} 不存在", {"task_id": task_id})
    return task


def candidates_at(posts) -> sa.Select:
    """The ids of open tasks that may be worked at one of these posts as a further candidate group (through the
    partial index of open candidates: finished tasks' rows are not read)."""
    return sa.select(TaskCandidate.task_id).where(TaskCandidate.is_open, TaskCandidate.post.in_(list(posts)))


def waiting_as_candidate(posts) -> sa.ColumnElement:
    """Open tasks that may be worked at one of these posts as a further candidate group."""
    return UserTask.id.in_(candidates_at(posts))


def at_post(post: str, state: str | None) -> sa.ColumnElement:
    """Tasks waiting at the post or with it as a further candidate group, as one id set: `post = … OR id IN
    (candidates)` cannot be read through indexes, and PostgreSQL would walk every open task for it."""
    routed = sa.select(UserTask.id).where(UserTask.post == post, *([UserTask.state == state] if state else []))
    return UserTask.id.in_(sa.union_all(routed, candidates_at([post])))


PICK_LIMIT = 1000  # pages this deep are picked in one query, without the ordered walks below


def search(*, post: str | None = None, assignee: str | None = None, instance: str | None = None,
           state: str | None = "open", due_before: datetime | None = None, due_after: datetime | None = None,
           process_key: str | None = None, scope=None, limit: int = 50, offset: int = 0,
           covered: bool = False):
    """Tasks by rank (`priority`, higher first: a plugin's, the hall's green channel), then due date and age.
    `scope`: the condition of the tasks the caller may list (people.access.task_scope), None for all;
    `covered`: every task routed to `post` is within it (people.access.lists_all_at)."""
    filters = []
    if assignee:
        filters.append(UserTask.assignee == assignee)
    if instance:
        filters.append(UserTask.instance_id == instance)
    if state:
        filters.append(UserTask.state == state)
    if due_before:
        filters.append(UserTask.due_at < due_before)
    if due_after:
        filters.append(UserTask.due_at >= due_after)
    if process_key:
        filters.append(UserTask.process_key == process_key)
    narrowed = len(filters) > (1 if state else 0)  # anything but the state
    scoped = [*filters, *([scope] if scope is not None else [])]
    # waiting at the post, or with it as a further candidate group
    query = db.select(UserTask).where(*scoped, *([at_post(post, state)] if post else []))
    if post and state == "open" and not narrowed:
        total = _open_at(post, scope, covered)
    else:
        total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    order = (UserTask.priority.desc(), UserTask.due_at.is_(None), UserTask.due_at, UserTask.created_at, UserTask.id)
    page = query
    if state == "open" and offset + limit <= PICK_LIMIT:  # the picks hold every condition: nothing else to match
        routed = filters if covered else scoped  # covered: whatever is routed to the post is in the scope
        page = db.select(UserTask).where(UserTask.id.in_(_picked(routed, scoped, post, offset + limit)))
    page = page.options(selectinload(UserTask.candidates))  # lists show each task's other posts
    return list(db.session.scalars(page.order_by(*order).limit(limit).offset(offset))), total


def _open_at(post: str, scope, covered: bool) -> int:
    """How many open tasks wait at the post: those routed there, counted from the post's index alone when the
    caller may see them all, and those with it as a further candidate (few), each checked against the scope."""
    if covered:  # every task routed there: the post's tally
        routed = sa.select(sa.func.coalesce(sa.func.sum(PostTally.open_tasks), 0)).where(PostTally.post == post)
    else:
        routed = sa.select(sa.func.count()).select_from(UserTask).where(
            UserTask.post == post, UserTask.state == "open", *([scope] if scope is not None else []))
    candidates = sa.select(sa.func.count()).select_from(UserTask).where(
        UserTask.id.in_(candidates_at([post])), UserTask.post != post, UserTask.state == "open",
        *([scope] if scope is not None else []))
    return (db.session.scalar(routed) or 0) + (db.session.scalar(candidates) or 0)


def _picked(routed: list, candidates: list, post: str | None, count: int) -> sa.Select:
    """The ids a page of open tasks can come from: the first `count` in list order at the post (matching
    `routed`) and among its candidates apart (matching `candidates`), each a walk of an index in that order
    (ix_user_task_open_post: post, rank, due date, created) stopped after `count` rows — a busy post's thousands
    of open tasks are neither read nor sorted."""
    order = (UserTask.priority.desc(), UserTask.due_at.asc().nulls_last(), UserTask.created_at, UserTask.id)
    if not post:
        places = [candidates]
    else:
        places = [[*routed, UserTask.post == post],
                  [*candidates, UserTask.id.in_(candidates_at([post])), UserTask.post != post]]
    return sa.union_all(*(sa.select(UserTask.id).where(*where).order_by(*order).limit(count).subquery().select()
                          for where in places))


def inline_form(task: UserTask) -> dict | None:
    """The form a task's diagram declares itself (Camunda's generated form), from the compiled version."""
    instance = db.session.get(ProcessInstance, task.instance_id)
    process = definitions.compiled_by_id(instance.definition_id) if instance is not None else None
    meta = process.user_tasks.get(task.element_id) if process is not None else None
    return meta.inline_form if meta is not None else None


def check_open(task: UserTask) -> None:
    if task.state != "open":
        raise Conflict(f"任务已{'完成' if task.state == 'completed' else '取消'}", {"task_id": task.id, "state": task.state})


def claim(task: UserTask, username: str) -> UserTask:
    check_open(task)
    result = db.session.execute(
        sa.update(UserTask)
        .where(UserTask.id == task.id, UserTask.state == "open",
               sa.or_(UserTask.assignee.is_(None), UserTask.assignee == username))
        .values(assignee=username, claimed_at=now()))
    if result.rowcount != 1:
        db.session.rollback()
        current = db.session.get(UserTask, task.id)
        check_open(current)
        raise Conflict(f"任务已被 {current.assignee} 认领", {"task_id": task.id, "assignee": current.assignee})
    audit.record("task.claimed", actor=username, instance_id=task.instance_id, task_id=task.id,
                 element_id=task.element_id)
    db.session.commit()
    db.session.refresh(task)
    return task


def unclaim(task: UserTask, username: str, *, others: bool = False) -> UserTask:
    """Release a claim: one's own, or (`others`: a supervisor, admin) someone else's."""
    check_open(task)
    if task.assignee is None:
        return task
    if task.assignee != username and not others:
        raise Conflict(f"任务由 {task.assignee} 认领，您不能释放", {"task_id": task.id, "assignee": task.assignee})
    result = db.session.execute(sa.update(UserTask).where(UserTask.id == task.id, UserTask.state == "open",
                                                          UserTask.assignee == task.assignee)
                                .values(assignee=None, claimed_at=None))
    if result.rowcount != 1:
        db.session.rollback()
        raise Conflict("任务状态已变化，请刷新后重试", {"task_id": task.id})
    audit.record("task.unclaimed", actor=username, instance_id=task.instance_id, task_id=task.id,
                 element_id=task.element_id, details={"previous_assignee": task.assignee})
    db.session.commit()
    db.session.refresh(task)
    return task


# what a completion answers with, read in its transaction; built once (building a statement costs SQLAlchemy more
# than running it)
_TASKS_AFTER = (sa.select(UserTask.__table__)
                .where(UserTask.instance_id == sa.bindparam("case_id"),
                       sa.or_(UserTask.state == "open", UserTask.id == sa.bindparam("task_id")))
                .order_by(UserTask.created_at))
_CANDIDATES_OF = (sa.select(TaskCandidate.task_id, TaskCandidate.post)
                  .where(TaskCandidate.task_id.in_(sa.bindparam("ids", expanding=True))).order_by(TaskCandidate.post))


def complete(task: UserTask, username: str, data: dict[str, Any], *, override: bool = False,
             outside_posts: bool = False, views: Callable[[list[dict]], list] | None = None
             ) -> tuple[Any, str, list[Any]]:
    """Complete a task; returns it, the case's state after the step, and the case's open tasks now.

    `override` (admin): whoever holds the task; `outside_posts`: the audit entry says it was done as admin;
    `views` turns the task rows into what the caller answers with, inside the step's transaction (a read after
    the commit would open a second one).
    """
    check_open(task)
    if task.assignee is not None and task.assignee != username and not override:
        raise Conflict(f"任务已被 {task.assignee} 认领", {"task_id": task.id, "assignee": task.assignee})
    instance = runtime.lock(task.instance_id)  # the case row before the task row: the order every writer keeps
    if instance.state != "running":
        details = {"instance_id": instance.id, "state": instance.state}
        db.session.rollback()
        raise Conflict("办件不在办理中", details)
    try:
        data = prefill.with_defaults(task, data)  # e.g. the supplement notice's derived list of missing materials
        task_forms.validate(task, instance, data)
    except Exception:
        db.session.rollback()  # the case row's lock goes with the refused submission
        raise
    case = runtime.load(instance)
    inline = case.inline_form(task.id)
    if inline is not None:
        try:
            forms.validate_against(inline, data, task.element_id)
        except Exception:
            db.session.rollback()
            raise
    before = case.data()
    at = now()
    try:  # a plugin may keep the submission to itself (its own output mapping) or refuse it
        shared = hooks.shared_outputs(case.process, task.element_id, data, username, at)
    except Exception:
        db.session.rollback()
        raise
    try:
        case.complete(task.id, data, actor=username, at=at, shared=shared)
    except TaskNotReady:
        db.session.rollback()
        raise Conflict("任务已不在待办状态", {"task_id": task.id}) from None
    except CaseFailed as exc:
        db.session.rollback()
        raise case_failed(exc, instance, action="task.completed", actor=username) from None
    details = {"element": task.element_id, "name": task.name, "changes": data_changes(before, case.data())}
    if outside_posts:
        details["as_admin"] = True
    def rows_after():
        """The completed task and the case's open tasks, read inside the step's transaction."""
        conn = db.session.connection()
        rows = [dict(r) for r in conn.execute(_TASKS_AFTER, {"case_id": instance.id, "task_id": task.id}).mappings()]
        others: dict[str, list[str]] = {}
        for task_id_, post in conn.execute(_CANDIDATES_OF, {"ids": [r["id"] for r in rows]}):
            others.setdefault(task_id_, []).append(post)
        for row in rows:
            row["other_posts"] = others.get(row["id"], [])
        ids = [row["id"] for row in rows]
        return ids, (views(rows) if views is not None else rows), instance.state  # plain values: they outlive the commit

    task_id = task.id
    saved = runtime.save(instance, case, actor=username, action="task.completed", task_id=task.id,
                         details=details, completed_task_id=task.id, before_commit=rows_after, submitted=data,
                         completing_as=None if override else username)  # a colleague's claim since it was read wins
    ids, rows, state = saved.extra
    done = next(r for i, r in zip(ids, rows, strict=True) if i == task_id)
    return done, state, [r for i, r in zip(ids, rows, strict=True) if i != task_id]


def submissions(instance_id: str) -> list[dict]:
    """The case's task submissions (who, when, what), oldest first."""
    rows = db.session.scalars(sa.select(TaskSubmission).where(TaskSubmission.instance_id == instance_id)
                              .order_by(TaskSubmission.id))
    return [{c.key: getattr(row, c.key) for c in TaskSubmission.__table__.columns} for row in rows]


def backfill_candidates() -> int:
    """Open tasks made before tasks kept their further candidate groups (migration 0016) get them now, from
    their case's compiled diagram; idempotent, run by bootstrap at every start. Returns the rows added."""
    candidates = TaskCandidate.__table__
    rows = db.session.execute(
        sa.select(UserTask.id, UserTask.element_id, UserTask.home_post, ProcessInstance.definition_id)
        .join(ProcessInstance, ProcessInstance.id == UserTask.instance_id)
        .where(UserTask.state == "open", ~sa.exists().where(candidates.c.task_id == UserTask.id))).all()
    added = []
    for task_id, element_id, home_post, definition_id in rows:
        meta = definitions.compiled_by_id(definition_id).user_tasks.get(element_id)
        added += candidate_rows(task_id, home_post, meta.other_posts if meta is not None else ())
    if added:
        db.session.execute(candidates.insert(), added)
    return len(added)


# -- open tasks per post (post_tally, kept by triggers on user_task: migration 0027) -------------------------------
def open_by_post() -> dict[str, tuple[int, int]]:
    """Each post's open tasks and how many of them are claimed, from the tally's few rows a post."""
    tally = PostTally
    return {post: (int(open_tasks), int(claimed)) for post, open_tasks, claimed in db.session.execute(
        sa.select(tally.post, sa.func.sum(tally.open_tasks), sa.func.sum(tally.claimed_tasks)).group_by(tally.post))}


def fold_post_tally() -> int:
    """Sum the tally's changes into one row per post (a scheduled job; its own transaction). Steps only add rows,
    so folding never waits for them; returns the rows folded."""
    table = PostTally.__table__
    if db.engine.dialect.name == "postgresql":
        # one statement: the rows it deletes are exactly the rows it sums, whatever commits meanwhile
        folded = db.session.execute(sa.text(
            "WITH gone AS (DELETE FROM post_tally RETURNING post, open_tasks, claimed_tasks), "
            "kept AS (INSERT INTO post_tally (post, open_tasks, claimed_tasks) "
            "SELECT post, sum(open_tasks), sum(claimed_tasks) FROM gone GROUP BY post "
            "HAVING sum(open_tasks) <> 0 OR sum(claimed_tasks) <> 0) "
            "SELECT count(*) FROM gone")).scalar_one()
    else:  # one writer at a time: the rows up to the last id are the rows summed
        last = db.session.scalar(sa.select(sa.func.max(table.c.id))) or 0
        folded = db.session.scalar(sa.select(sa.func.count()).where(table.c.id <= last))
        db.session.execute(table.insert().from_select(
            ["post", "open_tasks", "claimed_tasks"],
            sa.select(table.c.post, sa.func.sum(table.c.open_tasks), sa.func.sum(table.c.claimed_tasks))
            .where(table.c.id <= last).group_by(table.c.post)
            .having((sa.func.sum(table.c.open_tasks) != 0) | (sa.func.sum(table.c.claimed_tasks) != 0))))
        db.session.execute(table.delete().where(table.c.id <= last))
    db.session.commit()
    return folded
