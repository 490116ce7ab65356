"""窗口收件: the window receives a case through the API's own intake — `hall.intake.validate_applicant` and
`instances.service.start(applicant=...)` — with the full applicant record; refused fields are shown in place with
the same Chinese messages as the API's 422, and what was typed stays. The applicant library (申请人库) offers a
returning applicant's record as the clerk types (`/work/applicants`, JSON)."""

from __future__ import annotations

from flask import flash, g, jsonify, redirect, render_template, request, url_for
from markupsafe import Markup

from ..api.instances import StartInstance
from ..definitions import service as definitions
from ..errors import ApiError, Invalid
from ..extensions import db
from ..hall import starting
from ..hall.documents import service as documents
from ..hall.intake import APPLICANT_KINDS, ORGANISATION_ID_TYPES, PERSON_ID_TYPES
from ..hall.window import search
from ..instances import service as instances
from ..matters import service as matters
from ..matters.models import KIND_NAMES
from ..people import access
from .blueprint import bp
from .pages import page

APPLICANT_FIELDS = ("kind", "name", "id_type", "id_number", "phone", "address", "legal_representative")
AGENT_FIELDS = ("name", "id_type", "id_number", "phone")
MAX_COUNT = 99  # originals or copies of one material


def applicant_from(form) -> dict:
    """The applicant as the API takes it, from the posted fields `applicant.*` and `applicant.agent.*`; empty
    inputs left out, so the intake's own checks say what is missing."""
    record: dict = {}
    for key in APPLICANT_FIELDS:
        value = (form.get(f"applicant.{key}") or "").strip()
        if value:
            record[key] = value
    if record.get("kind") == "person":
        record.pop("legal_representative", None)  # a person has none; the page hides the input
    if form.get("has_agent") == "on":
        agent = {k: v for k in AGENT_FIELDS if (v := (form.get(f"applicant.agent.{k}") or "").strip())}
        record["agent"] = agent
    return record


def _count(raw: str | None, default: int) -> int:
    try:
        value = int(raw) if raw not in (None, "") else default
    except ValueError:
        return default
    return min(max(value, 0), MAX_COUNT)


def materials_from(form, matter) -> list[dict]:
    """The checklist as received at the window: each material of the matter, received or not, with the counts."""
    out = []
    for i, m in enumerate(matter.materials or []):
        out.append({"name": m.get("name"), "received": form.get(f"material.{i}") == "on",
                    "originals": _count(form.get(f"material.{i}.originals"), m.get("originals") or 0),
                    "copies": _count(form.get(f"material.{i}.copies"), m.get("copies") or 0)})
    return out


def field_errors(exc: Invalid) -> dict[str, str]:
    """The 422's field errors by input name (`applicant.id_number`); the first message of each."""
    errors: dict[str, str] = {}
    details = exc.details if isinstance(exc.details, dict) else {}
    for problem in details.get("errors") or []:
        errors.setdefault(problem.get("field") or "_", problem.get("message") or "")
    return errors


@bp.route("/work/start", methods=["GET", "POST"])
@page(like=StartInstance.post)
def start():
    user = g.user
    code = request.values.get("matter") or None
    q = request.args.get("q") or None
    names = matters.department_names()
    catalog, _ = matters.search(keyword=q, limit=200)
    served = access.start_departments(user)  # only the matters of departments the clerk serves (as the API)
    if served is not None:
        catalog = [m for m in catalog if m.department_code in served]
    mine = set(user.departments)
    catalog.sort(key=lambda m: (m.department_code not in mine, m.code))
    matter = matters.get_or_404(code) if code else None
    errors: dict[str, str] = {}
    general: list[str] = []
    status = 200
    form = request.form
    if request.method == "POST" and matter is not None:
        applicant = applicant_from(form)
        data = {"applicant": applicant.get("name") or "", "materials": materials_from(form, matter)}
        if form.get("green_channel") == "on":
            data["green_channel"] = True
        business_key = (form.get("business_key") or "").strip() or None
        try:
            definition = definitions.startable(matter.process_key)
            starting.check_start(user, definition)  # as the API: only the matters of departments one serves
            instance, saved = instances.start(definition, data, business_key, user.username, applicant=applicant)
        except Invalid as exc:
            db.session.rollback()
            errors = field_errors(exc)
            general = [errors.pop("_")] if "_" in errors else []
            if not errors and not general:
                general = [exc.message]
            status = exc.status
        except ApiError as exc:  # 403: another department's matter; 409: a second open case of a business key...
            db.session.rollback()
            general, status = [exc.message], exc.status
        else:
            return _received(instance, saved, matter, applicant["name"])
    return render_template("start.html", active="work", catalog=catalog, matter=matter, q=q, names=names,
                           KIND_NAMES=KIND_NAMES, errors=errors, general=general, form=form,
                           APPLICANT_KINDS=APPLICANT_KINDS, PERSON_ID_TYPES=PERSON_ID_TYPES,
                           ORGANISATION_ID_TYPES=ORGANISATION_ID_TYPES), status


def _received(instance, saved, matter, name: str):
    """After 收件: the case number and query code shown this once, then the acceptance if it is this clerk's."""
    user = g.user
    opened = [t for t in saved.new_tasks if t.get("post") in user.post_names
              or set(t.get("other_posts", ())) & set(user.post_names)]
    code = saved.answer.get("query_code")
    number = saved.answer.get("case_number")
    if code:  # shown this once (only its digest is kept): the applicant asks /guide/status with it
        receipt = next((d for d in documents.for_instance(instance.id) if d.kind == "receipt"), None)
        link = Markup(" <a href=\"{}\" target=\"_blank\" data-action=\"print-receipt\">打印收件凭证</a>").format(
            url_for("web.case_document", instance_id=instance.id, document_id=receipt.id, query_code=code)
        ) if receipt else ""
        flash(Markup("已收件：{}（申请人 {}）。办件编号 <b data-testid=\"case-number\">{}</b>，查询码 "
                     "<b data-testid=\"query-code\">{}</b>（仅显示这一次，请告知申请人）").format(
                         matter.name, name, number, code) + link)
    else:
        flash(f"已收件：{matter.name}（申请人 {name}）")
    if opened:
        return redirect(url_for("web.task", task_id=opened[0]["id"]))
    return redirect(url_for("web.case", instance_id=instance.id))


@bp.get("/work/applicants")
@page(like=StartInstance.post)
def applicants():
    """申请人库: earlier applicants whose ID number or name begins with `q` (cases the clerk may see; identifiers
    masked where the clerk does not handle the case)."""
    q = (request.args.get("q") or "")[:64]
    return jsonify({"items": search.library(g.user, q)})
