"""Supervisors' actions on pages: close a warning with a note (the board), 延期 a case and reassign an open task
(the case page). Each is the API operation's own path — its roles (`page(like=...)`), its request schema, its
access check in people.access and its service function; a refusal shows the server's Chinese message next to the
form it came from, with what was typed kept."""

from __future__ import annotations

from flask import flash, g, redirect, request, url_for
from marshmallow import ValidationError

from ..api.supervision import CloseSchema, CloseWarning, ExtendInstance, ExtendSchema, check_extension, may_extend
from ..api.tasks import Reassign, ReassignSchema
from ..errors import ApiError
from ..extensions import db
from ..hall.supervision import access as warning_access
from ..hall.supervision import service as supervision
from ..people import access, work
from ..people.models import Post, User, user_post
from ..tasks.models import UserTask
from .blueprint import bp
from .pages import may, page


def refusal(exc: ApiError | ValidationError) -> tuple[str, int]:
    """The message and status to show for a refused action: the service's, or the request schema's (422)."""
    if isinstance(exc, ValidationError):
        messages = exc.normalized_messages()
        texts = [m for problems in messages.values() for m in (problems if isinstance(problems, list) else [problems])]
        return "；".join(str(t) for t in texts), 422
    return exc.message, exc.status


# -- the board: close a warning ----------------------------------------------------------------------------------
@bp.post("/board/warnings/<int:warning_id>/close")
@page(like=CloseWarning.post)
def close_warning(warning_id: int):
    from .board import render_board

    note = (request.form.get("note") or "").strip()  # a note of blanks is no note
    try:
        body = CloseSchema().load({"note": note})
        warning = supervision.get_or_404(warning_id)
        warning_access.check_close_warning(g.user, warning)
        supervision.close(warning, g.user.username, body["note"])
    except (ApiError, ValidationError) as exc:
        db.session.rollback()
        message, status = refusal(exc)
        return render_board(errors={warning_id: message}, notes={warning_id: note}, status=status)
    flash(f"预警已关闭（{note[:40]}）")
    return redirect(url_for("web.board", **request.args))


# -- the case page: 延期 and reassigning -------------------------------------------------------------------------
def reassign_targets(task: UserTask) -> dict[str, list[tuple[str, str]]]:
    """What the form offers: the task's post and its backup post, and the people holding them (the service
    decides; an absent clerk, say, is refused with its message)."""
    home = task.home_post or task.post
    if home is None:
        return {"posts": [], "people": []}
    backup = db.session.scalar(db.select(Post.backup_name).where(Post.name == home))
    posts = [p for p in (home, backup) if p]
    people = db.session.execute(
        db.select(User.username, User.name).join(user_post, user_post.c.user_id == User.id)
        .where(user_post.c.post_name.in_(posts), User.active.is_(True)).distinct().order_by(User.username)).all()
    return {"posts": [(p, p) for p in posts], "people": [(u, f"{n}（{u}）") for u, n in people]}


def supervise_context(case, open_tasks: list[UserTask]) -> dict:
    """Which supervisor forms the case page shows: those the person may use (the same checks as the API's)."""
    user = g.user
    extend = may(like=ExtendInstance.post) and may_extend(user, case)
    reassign = {}
    if may(like=Reassign.post):
        for task in open_tasks:
            try:
                access.check_manage_task(user, task)
            except ApiError:
                continue
            reassign[task.id] = reassign_targets(task)
    return {"may_extend": extend, "reassign": reassign}


@bp.post("/cases/<instance_id>/extend")
@page(like=ExtendInstance.post)
def extend(instance_id: str):
    from .work import render_case

    user = g.user
    case = access.visible_case(user, instance_id)  # 404 as from the API: no page to show the error on
    reason = (request.form.get("reason") or "").strip()
    try:
        body = ExtendSchema().load({"reason": reason})
        check_extension(user, case)
        case = supervision.extend(case, user.username, body["reason"])
        db.session.commit()
    except (ApiError, ValidationError) as exc:
        db.session.rollback()
        message, status = refusal(exc)
        return render_case(access.visible_case(user, instance_id), errors={"extend": message},
                           values={"extend": reason}, status=status)
    flash(f"已延期 {case.extended_days} 个工作日，新的到期日为 {case.due_date}")
    return redirect(url_for("web.case", instance_id=instance_id))


@bp.post("/work/tasks/<task_id>/reassign")
@page(like=Reassign.post)
def reassign(task_id: str):
    from .work import render_case

    user = g.user
    task = access.visible_task(user, task_id)  # 404 as from the API
    instance_id = task.instance_id
    target = request.form.get("to") or ""
    kind, _, name = target.partition(":")
    reason = (request.form.get("reason") or "").strip()
    try:
        body = ReassignSchema().load({"username": name if kind == "user" and name else None,
                                      "post": name if kind == "post" and name else None, "reason": reason})
        access.check_manage_task(user, task)
        task = work.reassign(task, user, body["reason"], username=body["username"], post=body["post"])
    except (ApiError, ValidationError) as exc:
        db.session.rollback()
        message, status = refusal(exc)
        return render_case(access.visible_case(user, instance_id), errors={task_id: message},
                           values={task_id: {"to": target, "reason": reason}}, status=status)
    flash(f"已将「{task.name}」改派给 {task.assignee}（{task.post}）" if task.assignee
          else f"已将「{task.name}」改派到岗位「{task.post}」，待认领")
    return redirect(url_for("web.case", instance_id=instance_id))
