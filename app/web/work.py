"""Clerks: my work (tasks of my posts and my own), claim and unclaim, the task page with its form, the case page,
and starting a case at the window."""

from __future__ import annotations

import json

from flask import flash, g, redirect, render_template, request, url_for

from ..api import documents as document_views
from ..api.instances import StartInstance, hall_filters
from ..audit import service as audit
from ..definitions.models import ProcessDefinition
from ..errors import Invalid, NotFound
from ..extensions import db
from ..hall import intake, summary
from ..hall.documents import service as documents
from ..hall.supervision import service as supervision
from ..instances import service as instances
from ..instances.models import ProcessInstance
from ..matters.models import Matter
from ..people import access
from ..people import work as task_work
from ..tasks import moves, task_forms
from ..tasks import prefill as task_prefill
from ..tasks import service as tasks
from ..tasks.models import UserTask
from . import schema_form, words
from .blueprint import bp, local_target
from .pages import may, page

LIST_LIMIT = 500
LIGHT_ORDER = {"red": 0, "yellow": 1, "green": 2, None: 3}


def case_number(instance: ProcessInstance | None) -> str | None:
    """The case number of a catalogued matter's case (intake), else the business key."""
    if instance is None:
        return None
    return getattr(instance, "case_number", None) or (instance.data or {}).get("case_number") or instance.business_key


def applicant(data: dict | None) -> str:
    data = data or {}
    value = data.get("applicant")
    if isinstance(value, dict):
        return str(value.get("name") or "")
    return str(value or data.get("applicant_name") or "")


def matters_by_key() -> dict[str, Matter]:
    return {m.process_key: m for m in db.session.scalars(db.select(Matter))}


def rows_for(task_list: list[UserTask]) -> list[dict]:
    """Tasks with their case: matter, case number, applicant, due date, light, green channel."""
    user = g.user
    ids = {t.instance_id for t in task_list}
    cases = {i.id: i for i in summary.views(db.session.scalars(
        db.select(ProcessInstance).where(ProcessInstance.id.in_(ids))))} if ids else {}
    handled = access.handled(user, cases.values())
    catalog = matters_by_key()
    rows = []
    for t in summary.task_views(task_list):
        case = cases.get(t.instance_id)
        data = (case.data if case.id in handled else access.mask(case.data)) if case else {}
        matter = catalog.get(t.process_key)
        rows.append({"task": t, "case": case, "matter": matter, "case_number": case_number(case),
                     "applicant": applicant(data), "due_date": case.due_date if case else None,
                     "light": t.light or (case.light if case else None),
                     "green": bool(case and case.green_channel)})
    return rows


@bp.get("/work")
@page()
def work():
    user = g.user
    post = request.args.get("post") or None
    light = request.args.get("light") or None
    show = request.args.get("show") or "all"  # all | mine | unclaimed
    key = request.args.get("key") or None
    items, _ = tasks.search(post=post, scope=access.task_scope(user, post), state="open", process_key=key,
                            limit=LIST_LIMIT)
    items = [t for t in items if t.assignee in (None, user.username) or access.may_work_on(user, t)
             or user.is_("supervisor")]
    rows = rows_for(items)
    counts = {"all": len(rows), "mine": sum(r["task"].assignee == user.username for r in rows),
              "unclaimed": sum(r["task"].assignee is None for r in rows),
              "red": sum(r["light"] == "red" for r in rows), "yellow": sum(r["light"] == "yellow" for r in rows),
              "green": sum(r["light"] == "green" for r in rows), "green_channel": sum(r["green"] for r in rows)}
    if show == "mine":
        rows = [r for r in rows if r["task"].assignee == user.username]
    elif show == "unclaimed":
        rows = [r for r in rows if r["task"].assignee is None]
    if light:
        rows = [r for r in rows if r["light"] == light]
    # the service orders green channel first, then by due date; the page keeps that order
    owned, _ = instances.search(where=hall_filters(owner=user.username), state="running",
                                scope=access.case_scope(user), limit=50)
    owned = summary.views(owned)
    keys = sorted({r["task"].process_key for r in rows_for(items)})
    catalog = matters_by_key()
    return render_template("work.html", active="work", rows=rows, counts=counts, post=post, light=light,
                           done=recently_done(user),
                           show=show, key=key, posts=user.post_names, owned=owned,
                           matter_filter=[(k, catalog[k].name if k in catalog else k) for k in keys],
                           case_number=case_number, applicant=applicant, may_start=may(like=StartInstance.post))


DONE_LIMIT = 10


def recently_done(user) -> list[dict]:
    """我的已办: the person's latest completed steps, each with whether it may still be taken back (撤回)."""
    done = list(db.session.scalars(db.select(UserTask).where(
        UserTask.completed_by == user.username, UserTask.state == "completed")
        .order_by(UserTask.completed_at.desc()).limit(DONE_LIMIT)))
    rows = rows_for(done)
    for row, task in zip(rows, done, strict=True):
        row["may_take_back"] = moves.may_take_back(task, user.username) is None
    return rows


@bp.post("/work/tasks/<task_id>/claim")
@page()
def claim(task_id: str):
    task = task_work.claim(access.visible_task(g.user, task_id), g.user)
    flash(f"已认领「{task.name}」")
    return redirect(local_target(request.form.get("back")) or url_for("web.task", task_id=task_id))


@bp.post("/work/tasks/<task_id>/unclaim")
@page()
def unclaim(task_id: str):
    user = g.user
    task = task_work.unclaim(access.visible_task(user, task_id), user)  # as POST /tasks/{id}/unclaim
    flash(f"已释放「{task.name}」，退回岗位待办")
    return redirect(local_target(request.form.get("back")) or url_for("web.work"))


def task_form(task: UserTask) -> dict | None:
    """The task's JSON Schema, as GET /tasks/{id} gives it."""
    return task_forms.for_task(task).schema


def prefill(task: UserTask, schema: dict | None, variables_of: ProcessInstance | None = None) -> dict:
    """Start values: only what this step should start from — what the hall knows for it (the acceptance
    checklist with what was received at 收件, a notice's missing materials), as GET /tasks/{id}'s `prefill`. Never
    another step's words: an approver's 审批意见 does not start as the reviewer's 审核意见 — except in a Camunda
    Form (`variables_of`: its case), whose fields show the case's variables of their keys, as Camunda's own
    task list shows them to the analyst who drew it."""
    if not schema:
        return {}
    properties = schema.get("properties") or {}
    data = (variables_of.data or {}) if variables_of is not None else {}
    known = {**{k: data[k] for k in properties if k in data}, **task_prefill.for_task(task)}
    return {k: v for k, v in known.items() if k in properties}


def labels_of(case: ProcessInstance) -> words.Labels:
    """The titles of the case's data: the forms of its steps (done and open), and the hall's own keys."""
    keys = db.session.scalars(db.select(UserTask.form_key).where(UserTask.instance_id == case.id).distinct())
    return words.labels_for([k for k in keys if k])


def steps_of(case: ProcessInstance, handled: bool, labels: words.Labels) -> list[dict]:
    """Earlier steps from the audit trail: who (by name) did what when, with what they submitted — under the
    forms' titles, enum values by their names."""
    out = []
    for e in audit.for_instance(case.id, limit=1000):
        details = (e.details if handled else access.mask(e.details)) or {}
        step = {"at": e.at, "actor": words.person(e.actor), "data": None}
        if e.action == "instance.started":
            out.append({**step, "what": "收件（启动办件）", "data": labels.plain(details.get("data"))})
        elif e.action == "task.completed":
            changes = details.get("changes") or {}
            data = changes.get("added") or changes.get("set") or {}
            out.append({**step, "what": details.get("name") or "办理环节", "data": labels.plain(data),
                        "as_admin": details.get("as_admin")})
        elif e.action in ACTION_NAMES:
            out.append({**step, "what": ACTION_NAMES[e.action], "note": action_note(e.action, details)})
    return out


ACTION_NAMES = {"task.claimed": "认领", "task.unclaimed": "释放", "task.reassigned": "改派", "instance.cancelled": "撤销",
                "instance.extended": "延期", "supervision.warning_raised": "督查预警",
                "supervision.warning_closed": "关闭预警", "intake.applicant_corrected": "更正申请人",
                "intake.query_code_reset": "重置查询码（补发收件凭证）", "case.withdrawn": "撤件",
                "attachment.added": "上传附件", "attachment.removed": "删除附件", "comment.added": "意见",
                "task.sent_back": "退回", "task.taken_back": "撤回"}


def action_note(action: str, details: dict) -> str | None:
    """What an action said (a reason, a note), in one line of the steps."""
    if action == "task.reassigned":
        to = words.person(details.get("to_assignee")) if details.get("to_assignee") \
            else f"岗位「{details.get('to_post')}」"
        return f"→ {to}：{details.get('reason') or ''}"
    if action == "task.sent_back":
        return f"「{details.get('from_name')}」退回至「{details.get('to_name')}」：{details.get('reason') or ''}"
    if action == "task.taken_back":
        return f"撤回「{details.get('to_name')}」" + (f"：{details['reason']}" if details.get("reason") else "")
    if action == "instance.extended":
        return f"{details.get('days')} 个工作日，到期日 {details.get('due_date_before')} → {details.get('due_date')}：" \
               f"{details.get('reason') or ''}"
    if action in ("supervision.warning_closed", "instance.cancelled", "intake.applicant_corrected"):
        return details.get("note") or details.get("reason")
    if action == "case.withdrawn":
        return f"{details.get('reason') or ''}（{details.get('document') or ''}）"
    if action == "intake.query_code_reset":
        return f"新收件凭证 {details.get('receipt') or ''}"
    if action in ("attachment.added", "attachment.removed"):
        return details.get("filename")
    if action == "comment.added":
        return details.get("text")
    return None


def case_context(case: ProcessInstance) -> dict:
    from .casefiles import files_context

    user = g.user
    handled = access.handles(user, case)
    definition = db.session.get(ProcessDefinition, case.definition_id)
    matter = db.session.get(Matter, case.matter_code) if case.matter_code else None
    from ..hall.window.corrections import is_withdrawn
    from .words import state_label

    labels = labels_of(case)
    record = intake.applicant_of(intake.intake_of(case.id))
    if record is not None and not handled:
        record = access.mask(record)
    return {"case": case, "data": case.data if handled else access.mask(case.data), "handled": handled,
            "definition": definition, "matter": matter, "case_number": case_number(case),
            "applicant": record["name"] if record else applicant(case.data), "applicant_record": record,
            "state_text": state_label(case.state, case.outcome, withdrawn=bool(is_withdrawn([case.id]))),
            "ID_TYPE_NAMES": intake.ID_TYPE_NAMES, "APPLICANT_KINDS": intake.APPLICANT_KINDS, "clock": supervision.clock_view(case),
            "steps": steps_of(case, handled, labels), "plain_data": labels.plain(case.data if handled
                                                                                  else access.mask(case.data)), "open_tasks": instances.open_tasks(case.id),
            "timers": instances.waiting_timers(case.id), "documents": documents_of(case),
            "matter_materials": [m.get("name") for m in (matter.materials if matter else []) or []],
            "take_back": take_back_offer(case), **files_context(case)}


def take_back_offer(case: ProcessInstance) -> UserTask | None:
    """The person's latest completed step of the case, while they may still take it back (撤回)."""
    latest = db.session.scalar(db.select(UserTask).where(
        UserTask.instance_id == case.id, UserTask.state == "completed", UserTask.completed_by == g.user.username)
        .order_by(UserTask.completed_at.desc()).limit(1))
    if latest is None or moves.may_take_back(latest, g.user.username) is not None:
        return None
    return latest


def documents_of(case: ProcessInstance) -> list[dict]:
    """The case's notices (文书), oldest first, as GET /instances/{id}/documents lists them: title, number, date,
    and the workbench's own download link (the API's wants a bearer token)."""
    return [{"id": d.id, "kind": d.kind, "title": d.title, "number": d.number, "issued_on": d.data.get("issued_on"),
             "issued_by": d.issued_by,
             "url": url_for("web.case_document", instance_id=case.id, document_id=d.id)}
            for d in documents.for_instance(case.id)]


@bp.get("/cases/<instance_id>/documents/<int:document_id>.pdf")
@page()
def case_document(instance_id: str, document_id: int):
    """A notice's PDF, for whoever may see the case: the API's own check and rendering (identifiers masked unless
    the person handles the case)."""
    document, handles = document_views.visible(document_id)
    if document.instance_id != instance_id:  # a notice of another case under this case's address
        raise NotFound(f"文书 {document_id} 不存在", {"document_id": document_id})
    # a receipt prints the query code only when the code given checks (the link right after 收件 carries it)
    return document_views.pdf_response(document, handles, request.args.get("query_code"))


@bp.route("/work/tasks/<task_id>", methods=["GET", "POST"])
@page()
def task(task_id: str):
    return render_task(task_id, submitted=request.method == "POST")


def render_task(task_id: str, *, submitted: bool = False, moving: dict | None = None, status: int = 200):
    """The task page: its form (`submitted`: the completion posted now), the 退回 form and why it was reopened;
    `moving`: a refused 退回's message and what was typed (app/web/moves.py)."""
    from .moves import task_moves

    user = g.user
    item = access.visible_task(user, task_id)
    instance = db.session.get(ProcessInstance, item.instance_id)
    case = summary.view(instance)
    form = task_forms.for_task(item, instance)
    schema = form.schema
    values = prefill(item, schema, instance if form.form_js else None)
    marks = schema_form.required_rows(values)
    by_field: dict[str, list[str]] = {}
    general: list[str] = []
    if submitted:
        data: dict = {}
        try:
            data = form_js_data(request.form) if form.form_js else \
                schema_form.read(schema, request.form) if schema else {}
            done, state, next_tasks = task_work.complete(item, user, data)
        except Invalid as exc:
            details = exc.details if isinstance(exc.details, dict) else {}
            by_field, general = schema_form.errors_by_field(details.get("errors") or [])
            if not details.get("errors"):
                general = [exc.message]
            values, status = data, 422
        else:
            names = "、".join(f"{t['name']}（{t['post'] or '—'}）" for t in next_tasks) or "无（办件已办结）"
            flash(f"已办理「{done['name']}」。下一步：{names}")
            mine = [t for t in next_tasks if t["post"] in user.post_names or t["assignee"] == user.username]
            if mine:
                return redirect(url_for("web.task", task_id=mine[0]["id"]))
            return redirect(url_for("web.case", instance_id=item.instance_id))
    if form.form_js:  # rendered by form-js in the page: the server's findings are listed above it
        fields, general = [], general + [m for messages in by_field.values() for m in messages]
    else:
        fields = schema_form.build(schema, values, by_field, marks)
        general += schema_form.unplaced(fields, by_field)
    may_work = item.state == "open" and (user.has_role("admin") or (
        user.has_role("clerk", "supervisor") and access.may_work_on(user, item)))
    return render_template("task.html", active="work", task=summary.task_view(item), schema=schema, fields=fields,
                           general=general, may_work=may_work, errors={}, values={}, form=form, form_values=values,
                           submitted=submitted, instructions=task_forms.instructions(item, instance),
                           **task_moves(item, moving), **case_context(case)), status


def form_js_data(posted) -> dict:
    """What form-js submitted in the page (its data as JSON in one field): an object, else 422."""
    try:
        data = json.loads(posted.get("form_js_data") or "{}")
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise Invalid("表单数据无法读取，请刷新页面后重试", {"field": "form_js_data"})
    return data


@bp.get("/cases/<instance_id>")
@page()
def case(instance_id: str):
    return render_case(access.visible_case(g.user, instance_id))


def render_case(found: ProcessInstance, errors: dict | None = None, values: dict | None = None, status: int = 200):
    """The case page; with a supervisor's forms when they may use them. `errors` and `values` by form (`extend`,
    or a task id): a refused action shows the server's message and what was typed, in place (supervise.py)."""
    from .corrections import applicant_form_values, window_context
    from .supervise import supervise_context

    found = summary.view(found) if not isinstance(found, summary.CaseView) else found
    context = case_context(found)
    values = values or {}
    window = window_context(found)
    correcting = values.get("applicant") or applicant_form_values(context["applicant_record"])
    return render_template("case.html", active="work", **context,
                           **supervise_context(found, context["open_tasks"]), **window,
                           correcting=correcting, PERSON_ID_TYPES=intake.PERSON_ID_TYPES,
                           ORGANISATION_ID_TYPES=intake.ORGANISATION_ID_TYPES,
                           errors=errors or {}, values=values), status
