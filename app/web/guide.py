"""The public guide (办事指南, no sign-in): the matter catalog, each matter's nine disclosures and materials, and a
case's status by case number and query code (a marked slot until the intake branch lands)."""

from __future__ import annotations

from flask import render_template, request

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
                           body=matters.handling_body(matter, names))


@bp.route("/guide/status", methods=["GET", "POST"])
def guide_status():
    """A case's status by case number and query code: needs the intake branch (case numbers and query codes)."""
    lookup = None
    try:
        from ..hall import intake  # type: ignore[import-not-found]  # the intake branch
    except ImportError:
        intake = None
    if request.method == "POST" and intake is not None:  # pragma: no cover - the intake branch
        lookup = intake.public_status(request.form.get("case_number", ""), request.form.get("query_code", ""))
    return render_template("guide_status.html", active="guide", available=intake is not None, lookup=lookup)
