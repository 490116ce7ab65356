"""Materials and comments on the case page: attach a scanned material or a file (its type read from the content),
download it through the case's own access check, and write 审查意见 on the case or one of its steps — the API's
services (app/attachments), refusals shown in place."""

from __future__ import annotations

from flask import flash, g, redirect, request, url_for

from ..api.attachments import allow_upload, download
from ..errors import ApiError, NotFound
from ..extensions import db
from ..hall.attachments import service as attachments
from ..people import access
from ..tasks.models import UserTask
from .blueprint import bp
from .pages import page
from .words import person


def files_context(case) -> dict:
    """The case's attachments (by material) and comment threads, and whether this person may add to them."""
    rows = attachments.for_instance(case.id)
    tasks = dict(db.session.execute(db.select(UserTask.id, UserTask.name).where(UserTask.instance_id == case.id)).all())
    threads = [({"row": first, "author": person(first.author), "task": tasks.get(first.task_id)},
                [{"row": r, "author": person(r.author), "task": tasks.get(r.task_id)} for r in replies])
               for first, replies in attachments.threads(attachments.comments_for(case.id))]
    return {"attachments": [{"row": r, "by": person(r.uploaded_by), "task": tasks.get(r.task_id),
                             "url": url_for("web.case_attachment", instance_id=case.id, attachment_id=r.id)}
                            for r in rows],
            "threads": threads, "may_attach": attachments.may_attach(g.user),
            "attachment_limit_mb": attachments.max_bytes() // (1024 * 1024)}


def upload_limit() -> None:
    """Before CSRF reads the form: an upload to a case may be as large as an attachment."""
    if request.method == "POST" and request.endpoint == "web.attach":
        allow_upload()


def _back(instance_id: str, task_id: str | None):
    if task_id:
        return redirect(url_for("web.task", task_id=task_id) + "#files")
    return redirect(url_for("web.case", instance_id=instance_id) + "#files")


def _refused(instance_id: str, key: str, exc: ApiError, typed: dict):
    from .work import render_case

    db.session.rollback()
    return render_case(access.visible_case(g.user, instance_id), errors={key: exc.message},
                       values={key: typed}, status=exc.status)


@bp.post("/cases/<instance_id>/attachments")
@page("clerk", "supervisor")
def attach(instance_id: str):
    typed = request.form.to_dict()
    upload = request.files.get("file")
    try:
        if upload is None or not upload.filename:
            from ..errors import Invalid

            raise Invalid("请选择要上传的文件（扫描件或电子文件）", {})
        row = attachments.attach(g.user, instance_id, upload.filename, upload.read(attachments.max_bytes() + 1),
                                 material=request.form.get("material") or None,
                                 task_id=request.form.get("task_id") or None, note=request.form.get("note"))
    except ApiError as exc:
        if exc.status == 404:
            raise
        return _refused(instance_id, "attachment", exc, typed)
    flash(f"已上传「{row.filename}」" + (f"（{row.material}）" if row.material else ""))
    return _back(instance_id, request.form.get("task_id"))


@bp.get("/cases/<instance_id>/attachments/<int:attachment_id>")
@page()
def case_attachment(instance_id: str, attachment_id: int):
    row = attachments.visible(g.user, attachment_id)
    if row.instance_id != instance_id:
        raise NotFound(f"附件 {attachment_id} 不存在", {"attachment_id": attachment_id})
    return download(row)


@bp.post("/cases/<instance_id>/comments")
@page("clerk", "supervisor")
def comment(instance_id: str):
    typed = request.form.to_dict()
    reply = request.form.get("reply_to") or ""
    try:
        attachments.comment(g.user, instance_id, request.form.get("text"),
                            task_id=request.form.get("task_id") or None,
                            reply_to=int(reply) if reply.isdigit() else None)
    except ApiError as exc:
        if exc.status == 404:
            raise
        return _refused(instance_id, "comment", exc, typed)
    flash("意见已提交")
    return _back(instance_id, request.form.get("back_task") or None)
