"""退回 and 撤回 on pages: the task page's 退回 form (an earlier step and a reason), and the 撤回 button of a step
one has just completed (the case page, the task page, 我的已办). Each is the API operation's own path — its request
schema, the same people.work check and tasks.moves operation, committed here — and a refusal shows the server's
Chinese message next to the form it came from, with what was typed kept."""

from __future__ import annotations

from flask import flash, g, redirect, request, url_for
from marshmallow import ValidationError

from ..api.tasks import SendBack, SendBackSchema, TakeBack, TakeBackSchema
from ..errors import ApiError
from ..extensions import db
from ..instances import runtime
from ..people import access, work
from ..tasks import moves
from ..tasks.models import UserTask
from . import words
from .blueprint import bp, local_target
from .pages import page
from .supervise import refusal


def task_moves(task: UserTask, moving: dict | None = None) -> dict:
    """What the task page shows of 退回: the form (when the person may send the task back), why the task is open
    again (`returned`), and a refused 退回's message with what was typed (`moving`)."""
    user = g.user
    offer = None
    if task.state == "open" and work.may_send_back(task, user):
        offer = [{"element_id": s["element_id"], "label": f"{s['name']}（{words.person(s['completed_by'])}）"}
                 for s in work.send_back_choices(task)]
    return {"send_back": offer, "returned": moves.returned(task), "moving": moving or {}}


@bp.post("/work/tasks/<task_id>/send-back")
@page(like=SendBack.post)
def send_back(task_id: str):
    from .work import render_task

    user = g.user
    task = access.visible_task(user, task_id)  # 404 as from the API: no page to show the error on
    to = request.form.get("to") or ""
    reason = (request.form.get("reason") or "").strip()
    try:
        body = SendBackSchema().load({"to": to, "reason": reason})
        moved = work.send_back(task, user, body["to"], body["reason"].strip())
        runtime.commit_all([moved.saved])
    except (ApiError, ValidationError) as exc:
        db.session.rollback()
        message, status = refusal(exc)
        return render_task(task_id, moving={"error": message, "to": to, "reason": reason}, status=status)
    reopened = moved.reopened
    who = f"由 {words.person(reopened['assignee'])} 办理" if reopened["assignee"] \
        else f"在岗位「{reopened['post']}」待认领"
    flash(f"已将办件退回至「{reopened['name']}」，{who}")
    return redirect(url_for("web.case", instance_id=task.instance_id))


@bp.post("/work/tasks/<task_id>/take-back")
@page(like=TakeBack.post)
def take_back(task_id: str):
    from .work import render_case

    user = g.user
    task = access.visible_task(user, task_id)
    instance_id = task.instance_id
    reason = (request.form.get("reason") or "").strip()
    try:
        body = TakeBackSchema().load({"reason": reason or None})
        moved = work.take_back(task, user, body["reason"])
        runtime.commit_all([moved.saved])
    except (ApiError, ValidationError) as exc:
        db.session.rollback()
        message, status = refusal(exc)
        if isinstance(exc, ApiError) and exc.code == "successor_claimed":  # the colleague by name
            message = f"下一环节「{exc.details['successor_name']}」已被 {words.person(exc.details['assignee'])} 认领，不能撤回"
        return render_case(access.visible_case(user, instance_id), errors={"take_back": message}, status=status,
                           values={"take_back": reason, "take_back_task": {"id": task.id, "name": task.name}})
    flash(f"已撤回「{moved.reopened['name']}」，请重新办理")
    return redirect(local_target(request.form.get("back")) or url_for("web.task", task_id=moved.reopened["id"]))
