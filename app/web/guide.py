"""The public guide (办事指南, no sign-in): the matter catalog, each matter's nine disclosures and materials, and a
case's status by case number and the query code printed on its receipt (the same function as POST /case-status)."""

from __future__ import annotations

from flask import render_template, request

from ..api.instances import CaseStatusArgs
from ..errors import NotFound
from ..hall import intake
from ..matters import service as matters
from ..matters.models import KIND_NAMES
from .blueprint import bp


@bp.get("/guide")
def guide():
    q = request.args.get("q") or None
    department = request.args.get("department") or None
    names = matters.department_names()
    items, total = matters.search(keyword=q, department=department if department in names else None, limit=200)
    return render_template("guide.html", active="guide", items=items, total=total, q=q, department=department,
                           names=names, KIND_NAMES=KIND_NAMES)


@bp.get("/guide/matters/<code>")
def guide_matter(code: str):
    matter = matters.get_or_404(code)
    names = matters.department_names()
    return render_template("guide_matter.html", active="guide", matter=matter, names=names, KIND_NAMES=KIND_NAMES,
                           safe_link=matters.safe_link,
                           body=matters.handling_body(matter, names))


@bp.route("/guide/status", methods=["GET", "POST"])
def guide_status():
    """A case's progress for the applicant: the matter, status, dates, current steps, notices — no personal data.

    A wrong code and an unknown case number get the same message, as from the API (404 alike).
    """
    lookup, error, status = None, None, 200
    case_number = (request.form.get("case_number") or "").strip()
    if request.method == "POST":
        problems = CaseStatusArgs().validate({"case_number": case_number,
                                              "query_code": request.form.get("query_code") or ""})
        if problems:
            error, status = "请填写收件凭证上的办件编号和查询码（各不超过 40 个字符）", 422
        else:
            try:
                lookup = intake.status(case_number, request.form.get("query_code") or "")
            except NotFound:
                error, status = "办件编号或查询码不正确，请核对收件凭证后重新输入", 404
    # the query code is never echoed back into the page: it stays on the receipt
    return render_template("guide_status.html", active="guide", lookup=lookup, error=error,
                           case_number=case_number), status
