"""What a person may do with a task, and doing it: the access check (app/people/access.py), then the runtime's
operation (app/tasks/service.py). The API and the workbench both go through here: one rule, two doors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from ..audit import service as audit
from ..clock import now
from ..errors import Conflict, Forbidden, Invalid
from ..extensions import db
from ..tasks import moves
from ..tasks import service as tasks
from ..tasks.models import UserTask
from . import absences, access
from .auth import Principal
from .models import Post, User


def check_may_work_on(task: UserTask, user: Principal) -> None:
    """A clerk (or supervisor) at one of the task's posts; admin anywhere."""
    if user.has_role("admin"):
        return
    if not user.has_role("clerk", "supervisor"):
        raise Forbidden("只有窗口工作人员可以办理任务", {"your_roles": user.roles})
    if not access.may_work_on(user, task):
        raise Forbidden(f"您不在岗位「{task.post}」，不能办理此任务", {"post": task.post, "your_posts": user.post_names})


def claim(task: UserTask, user: Principal) -> UserTask:
    check_may_work_on(task, user)
    absences.forget_return(task.id)  # someone took it: it no longer waits for a clerk's return (AB岗)
    return tasks.claim(task, user.username)


def unclaim(task: UserTask, user: Principal) -> UserTask:
    """One's own claim; a supervisor of the task's department (or admin) may release someone else's."""
    others = task.assignee not in (None, user.username)
    if others and user.has_role("supervisor"):
        access.check_manage_task(user, task)
    return tasks.unclaim(task, user.username, others=user.has_role("supervisor", "admin"))


def complete(task: UserTask, user: Principal, data: dict[str, Any],
             views: Callable[[list[dict]], list] | None = None) -> tuple[Any, str, list[Any]]:
    check_may_work_on(task, user)
    admin = user.has_role("admin")
    return tasks.complete(task, user.username, data, override=admin,
                          outside_posts=admin and task.post not in user.post_names, views=views)


def reassign(task: UserTask, actor: Principal, reason: str, *, username: str | None = None,
             post: str | None = None) -> UserTask:
    """A supervisor gives a task to a clerk of its post (or its backup post), or moves it to one of those posts.

    To a clerk: the task is claimed for them, at the post they hold. To a post: it waits there unclaimed, and that
    post becomes its home post (absence routing will not move it back).
    """
    tasks.check_open(task)
    if (username is None) == (post is None):
        raise Invalid("请指定改派给哪位工作人员（username）或哪个岗位（post），二者选一", {"username": username, "post": post})
    home = task.home_post or task.post
    backup = db.session.scalar(db.select(Post.backup_name).where(Post.name == home)) if home else None
    allowed = [p for p in (home, backup) if p]
    where = f"岗位「{home}」" + (f"或其备岗「{backup}」" if backup else "")
    if username is not None:
        user = db.session.scalar(db.select(User).filter_by(username=username))
        if user is None or not user.active:
            raise Invalid(f"用户 {username} 不存在或已停用", {"username": username})
        target = absences.post_for(user, home) if home else task.post
        if home and target is None:
            raise Invalid(f"{user.name}（{username}）不在{where}，不能把任务「{task.name}」改派给他/她",
                          {"username": username, "post": home, "backup": backup, "user_posts": user.post_names})
        if not home and not user.has_role("clerk", "supervisor"):
            raise Invalid(f"{user.name}（{username}）不是窗口工作人员，不能接收任务", {"username": username})
        if absences.routing().is_absent(username):
            raise Invalid(f"{user.name}（{username}）今天请假，不能改派给他/她", {"username": username})
        values = {"assignee": username, "claimed_at": now(), "post": target}
    else:
        if db.session.get(Post, post) is None:
            raise Invalid(f"岗位 {post} 不存在", {"post": post})
        if post not in allowed:
            raise Invalid(f"任务「{task.name}」属于{where}，只能改派到这些岗位", {"post": post, "allowed": allowed})
        values = {"assignee": None, "claimed_at": None, "post": post, "home_post": post}
    previous = {"post": task.post, "assignee": task.assignee}
    result = db.session.execute(sa.update(UserTask).where(
        UserTask.id == task.id, UserTask.state == "open", UserTask.post == task.post,
        UserTask.assignee.is_(None) if task.assignee is None else UserTask.assignee == task.assignee).values(**values))
    if result.rowcount != 1:
        db.session.rollback()
        raise Conflict("任务状态已变化，请刷新后重试", {"task_id": task.id})
    absences.forget_return(task.id)
    audit.record("task.reassigned", actor=actor.username, instance_id=task.instance_id, task_id=task.id,
                 element_id=task.element_id, details={
                     "reason": reason, "from_post": previous["post"], "from_assignee": previous["assignee"],
                     "to_post": values["post"], "to_assignee": values["assignee"]})
    db.session.commit()
    db.session.refresh(task)
    return task




def send_back_choices(task: UserTask) -> list[dict]:
    """The earlier steps the task may be sent back to, oldest first, each with who completed it."""
    return [step.view() for step in moves.choices(task)]


def may_send_back(task: UserTask, user: Principal) -> bool:
    """The clerk holding the task, or a supervisor of its department (中心督查, admin)."""
    if task.state != "open":
        return False
    if task.assignee is not None and task.assignee == user.username:
        return True
    try:
        access.check_manage_task(user, task)
    except Forbidden:
        return False
    return True


def send_back(task: UserTask, user: Principal, to: str, reason: str) -> moves.Moved:
    """退回: the clerk who claimed the task, or a supervisor of its department, sends the case back to a step
    completed on the path to it, with a reason; it reopens for the clerk who completed it (the hall assigns it).
    Not committed: the caller commits the returned save."""
    managing = False
    if task.assignee != user.username:
        try:
            access.check_manage_task(user, task)
            managing = True
        except Forbidden:
            raise Forbidden("只有认领该任务的经办人或本部门督查人员可以退回" + (
                "，请先认领" if task.assignee is None else f"（该任务由 {task.assignee} 认领）"),
                {"task_id": task.id, "assignee": task.assignee}) from None
    return moves.send_back(task, user.username, to, reason, assignee_only=not managing)


def take_back(task: UserTask, user: Principal, reason: str | None = None) -> moves.Moved:
    """撤回: only the clerk who completed the step; not committed (the caller commits the returned save)."""
    if task.state == "completed" and task.completed_by != user.username:
        raise Forbidden(f"只有办理该环节的 {task.completed_by} 本人可以撤回",
                        {"task_id": task.id, "completed_by": task.completed_by})
    return moves.take_back(task, user.username, reason)
