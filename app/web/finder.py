"""办件查询 in the workbench: every case the person may see (finished ones too), by case number, applicant, ID
number, phone, business key, matter, department, state and date of receipt — the API's own search
(app/cases/search.py, as GET /api/v1/instances), identifiers masked where the person does not handle the case."""

from __future__ import annotations

import datetime as dt

from flask import g, render_template, request

from ..errors import ApiError
from ..extensions import db
from ..hall.window import fields as hall
from ..hall.window import search
from ..hall.window.corrections import is_withdrawn
from ..matters import service as matters
from ..matters.models import Matter
from ..people import access
from .blueprint import bp
from .pages import page
from .words import STATE_NAMES, person, state_label

PAGE_SIZE = 50
TEXT_FILTERS = ("case_number", "applicant", "id_number", "phone", "business_key", "matter", "department", "state")


def _date(name: str, problems: list[str]) -> dt.date | None:
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        problems.append(f"日期格式应为 YYYY-MM-DD：{raw}")
        return None


@bp.get("/cases")
@page()
def cases():
    user = g.user
    problems: list[str] = []
    asked = {name: (request.args.get(name) or "").strip()[:200] for name in TEXT_FILTERS}
    filters = search.Filters(**{k: v or None for k, v in asked.items()},
                             received_from=_date("from", problems), received_to=_date("to", problems))
    try:
        offset = max(int(request.args.get("offset") or 0), 0)
    except ValueError:
        offset = 0
    items, total, status = [], 0, 200
    if not problems:
        try:
            items, total = search.find(user, filters, limit=PAGE_SIZE, offset=offset)
        except ApiError as exc:
            db.session.rollback()
            problems.append(exc.message)
            status = exc.status
    else:
        status = 422
    handled = access.handled(user, items)
    withdrawn = is_withdrawn([c.id for c in items])
    applicants = search.applicants_of([c.id for c in items])
    names = matters.department_names()
    catalog = dict(db.session.execute(db.select(Matter.code, Matter.name)).all())
    rows = []
    for case in items:
        applicant = applicants.get(case.id)
        if applicant is not None and case.id not in handled:
            applicant = access.mask(applicant)
        code = hall.matter_code(case)
        rows.append({"case": case, "number": hall.case_number(case) or case.business_key or case.id[:8],
                     "matter": catalog.get(code) or case.process_key, "applicant": applicant,
                     "state": state_label(case.state, hall.outcome(case), case.id in withdrawn), "received_on": hall.received_on(case),
                     "due_date": hall.due_date(case), "light": hall.light(case) if case.state == "running" else None,
                     "owner": person(hall.owner(case)) if hall.owner(case) else "—",
                     "department": names.get(case.department_code, "")})
    departments = names if user.is_(*access.SEE_ALL) else {k: v for k, v in names.items() if k in user.departments}
    matter_choices = sorted(catalog.items()) if user.is_(*access.SEE_ALL) else sorted(
        (code, name) for code, name in db.session.execute(db.select(Matter.code, Matter.name).where(
            Matter.department_code.in_(user.departments or ["-"]))).all())
    capped = total > search.COUNT_CAP  # counted up to the cap: "more than 10,000", pages up to it
    return render_template("cases.html", active="cases", rows=rows, total=min(total, search.COUNT_CAP),
                           capped=capped, offset=offset,
                           page_size=PAGE_SIZE, asked=asked, start=request.args.get("from") or "",
                           end=request.args.get("to") or "", problems=problems, STATE_NAMES=STATE_NAMES,
                           departments=departments, matter_choices=matter_choices,
                           searched=filters.any()), status
