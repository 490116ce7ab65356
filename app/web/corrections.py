"""窗口更正 on the case page: correct the applicant before acceptance, withdraw a case (撤件) with its 撤件登记, and
reissue a lost query code with a new receipt — the API's own services (app/cases/corrections.py,
hall.intake.reissue_receipt) and access checks; a refusal shows its Chinese message in place, keeping what was
typed."""

from __future__ import annotations

import datetime as dt

from flask import flash, g, redirect, request, url_for
from markupsafe import Markup

from ..api.instances import ResetQueryCode
from ..errors import ApiError, Forbidden, Invalid
from ..extensions import db
from ..hall import intake
from ..hall.window import corrections
from ..people import access
from .blueprint import bp
from .intake import applicant_from, field_errors
from .pages import page


def window_context(case) -> dict:
    """Which of the window's corrections the case page offers this person (the services decide again)."""
    user = g.user
    if not user.has_role("clerk", "supervisor", "admin"):
        return {"may_correct": False, "may_withdraw": False, "may_reissue": False}
    running = case.state == "running"
    correct = running and corrections.may_correct(user, case) and corrections.correctable(case) is None
    reissue = access.handles(user, case) and user.has_role("clerk", "supervisor") \
        and intake.intake_of(case.id) is not None
    return {"may_correct": correct, "may_withdraw": running and corrections.may_withdraw(user, case),
            "may_reissue": bool(reissue and case.case_number)}


def applicant_form_values(record: dict | None) -> dict:
    """The current applicant as the correction form's inputs."""
    if not record:
        return {}
    values = {f"applicant.{k}": v for k, v in record.items() if k != "agent" and v is not None}
    if record.get("agent"):
        values["has_agent"] = "on"
        values.update({f"applicant.agent.{k}": v for k, v in record["agent"].items() if v is not None})
    return values


def _again(instance_id: str, key: str, message: str, status: int, typed: dict, fields: dict | None = None):
    from .work import render_case

    db.session.rollback()
    return render_case(access.visible_case(g.user, instance_id), errors={key: message, **(fields or {})},
                       values={key: typed}, status=status)


@bp.post("/cases/<instance_id>/applicant")
@page("clerk", "supervisor")
def correct_applicant(instance_id: str):
    typed = request.form.to_dict()
    try:
        corrections.correct_applicant(g.user, instance_id, applicant_from(request.form), request.form.get("reason"))
    except Invalid as exc:
        fields = field_errors(exc)
        message = fields.pop("reason", None) or ("申请人信息不符合要求，请按提示修改" if fields else exc.message)
        return _again(instance_id, "applicant", message, 422, typed, fields)
    except ApiError as exc:
        if exc.status == 404:
            raise
        return _again(instance_id, "applicant", exc.message, exc.status, typed)
    flash("申请人信息已更正（已记入办理过程）")
    return redirect(url_for("web.case", instance_id=instance_id))


@bp.post("/cases/<instance_id>/withdraw")
@page("clerk", "supervisor")
def withdraw(instance_id: str):
    typed = request.form.to_dict()
    raw = (request.form.get("requested_on") or "").strip()
    try:
        try:
            day = dt.date.fromisoformat(raw) if raw else None
        except ValueError:
            raise Invalid(f"日期格式应为 YYYY-MM-DD：{raw}", {}) from None
        _, document = corrections.withdraw(g.user, instance_id, request.form.get("reason"),
                                           request.form.get("requested_by"), day, request.form.get("note"))
    except ApiError as exc:
        if exc.status == 404:
            raise
        return _again(instance_id, "withdraw", exc.message, exc.status, typed)
    link = url_for("web.case_document", instance_id=instance_id, document_id=document.id)
    flash(Markup("已撤件，办件终止办理。撤件登记 {} <a href=\"{}\" target=\"_blank\" data-action=\"print-withdrawal\">"
                 "打印（请申请人签字）</a>").format(document.number, link))
    return redirect(url_for("web.case", instance_id=instance_id))


@bp.post("/cases/<instance_id>/query-code")
@page(like=ResetQueryCode.post)
def reissue_query_code(instance_id: str):
    user = g.user
    case = access.visible_case(user, instance_id)
    try:
        if not access.handles(user, case):
            raise Forbidden("只有经办该办件的人员可以重置查询码", {"instance_id": instance_id})
        code, receipt = intake.reissue_receipt(case, user.username)
    except ApiError as exc:
        return _again(instance_id, "query_code", exc.message, exc.status, {})
    link = url_for("web.case_document", instance_id=instance_id, document_id=receipt.id, query_code=code)
    flash(Markup("已重置查询码：<b data-testid=\"query-code\">{}</b>（原查询码作废；仅显示这一次）。"
                 "<a href=\"{}\" target=\"_blank\" data-action=\"print-receipt\">打印新的收件凭证</a>").format(code, link))
    return redirect(url_for("web.case", instance_id=instance_id))
