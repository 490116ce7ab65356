"""/api/v1/instances: start cases, read one (data, open tasks, timers, audit), list, cancel."""

from __future__ import annotations

from types import SimpleNamespace

import sqlalchemy as sa
from flask.views import MethodView
from marshmallow import fields, validate

from ..audit import service as audit
from ..definitions import service as definitions
from ..hall import intake, starting, summary
from ..hall.documents import service as documents
from ..hall.models import HallCase
from ..instances import service
from ..instances.models import STATES, ProcessInstance
from ..people import access
from ..people.auth import current_user, require
from ..schemas import ApiSchema, BusinessKey, IsoDate, LocalDateTime, PageArgs, attributes
from .blueprint import Blueprint
from .tasks import SubmissionSchema, TaskSchema

blp = Blueprint("instances", __name__, url_prefix="/api/v1", description="办件（流程实例）")


class AgentSchema(ApiSchema):
    name = fields.String(metadata={"description": "代理人姓名"})
    id_type = fields.String(metadata={"description": "resident_id | passport | hk_macao_permit | taiwan_permit | other"})
    id_number = fields.String()
    phone = fields.String()


class ApplicantSchema(ApiSchema):
    """The applicant (申请人) as the window records it; validated by hall/intake.py (422, per field)."""

    kind = fields.String(metadata={"description": "person (自然人) | organisation (法人或其他组织)"})
    name = fields.String(metadata={"description": "姓名或单位名称"})
    id_type = fields.String(metadata={"description": "person: resident_id | passport | hk_macao_permit | "
                                                     "taiwan_permit | other; organisation: org_code | "
                                                     "business_licence | uscc | other"})
    id_number = fields.String(metadata={"description": "证件号码 (checked: 身份证, 组织机构代码, 统一社会信用代码)"})
    phone = fields.String(metadata={"description": "mobile (11 digits) or landline with area code"})
    address = fields.String()
    legal_representative = fields.String()
    agent = fields.Nested(AgentSchema, metadata={"description": "代理人, when someone applies on the applicant's behalf"})


class StartSchema(ApiSchema):
    data = fields.Dict(load_default=dict, metadata={"description": "the case's initial data"})
    applicant = fields.Raw(load_default=None, allow_none=True, metadata={
        "description": "申请人: {kind, name, id_type, id_number, phone, address?, legal_representative?, agent?}"})
    business_key = BusinessKey(load_default=None, allow_none=True)
    version = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1, max=1_000_000),
                             metadata={"description": "start this version instead of the latest"})


class InstanceSchema(ApiSchema):
    id = fields.String()
    process_key = fields.String()
    definition_id = fields.Integer()
    business_key = fields.String(allow_none=True)
    state = fields.String()
    data = fields.Dict()
    error = fields.String(allow_none=True)
    started_by = fields.String(allow_none=True)
    started_at = LocalDateTime()
    updated_at = LocalDateTime()
    ended_at = LocalDateTime(allow_none=True)
    version = fields.Integer()
    case_number = fields.String(allow_none=True, metadata={
        "description": "办件编号 {region}{department letters}{yyyyMMdd}{serial}: a catalogued matter's case"})
    owner = fields.String(allow_none=True, metadata={"description": "首问负责人: the clerk who accepted the case"})
    owner_post = fields.String(allow_none=True, metadata={"description": "the window post where they accepted it"})
    # the hall's side of the case (app/hall: hall_case): filled for cases of a catalogued matter
    matter_code = fields.String(allow_none=True, metadata={"description": "the matter (事项) whose case this is"})
    department_code = fields.String(allow_none=True)
    window_no = fields.Integer(allow_none=True, metadata={"description": "the owner's window"})
    green_channel = fields.Boolean(metadata={"description": "绿色通道: its own shorter limit, first in task lists"})
    received_on = fields.Date(allow_none=True, metadata={"description": "收件 date (Asia/Shanghai)"})
    accepted_on = fields.Date(allow_none=True, metadata={
        "description": "受理 date (视为受理: the receipt date, Art. 32): the limit counts from it"})
    promised_days = fields.Integer(allow_none=True, metadata={"description": "the limit, in working days"})
    paused_days = fields.Integer(metadata={"description": "working days the clock stood still (special procedures)"})
    due_date = fields.Date(allow_none=True, metadata={
        "description": "add_working_days(accepted_on, promised + extended + paused); before acceptance from received_on"})
    light = fields.String(allow_none=True, metadata={"description": "green | yellow | red until the decision"})
    decided_at = LocalDateTime(allow_none=True, metadata={"description": "决定: the decision clock stops here"})
    outcome = fields.String(allow_none=True, metadata={
        "description": "the decision or how the case ended: granted | refused | not_accepted | supplement_timeout | "
                       "higher_approved | higher_rejected | cancelled | closed"})
    working_days_used = fields.Integer(allow_none=True, metadata={"description": "from acceptance to the decision"})
    on_time = fields.Boolean(allow_none=True, metadata={"description": "the decision by the due date"})


class TimerSchema(ApiSchema):
    id = fields.Integer()
    element_id = fields.String()
    name = fields.String()
    kind = fields.String()
    due_at = LocalDateTime()
    state = fields.String()


class MessageWaitSchema(ApiSchema):
    element_id = fields.String()
    name = fields.String()


class AuditSchema(ApiSchema):
    id = fields.Integer()
    at = LocalDateTime()
    actor = fields.String(allow_none=True)
    action = fields.String()
    task_id = fields.String(allow_none=True)
    element_id = fields.String(allow_none=True)
    details = fields.Dict()


class ExternalWaitSchema(ApiSchema):
    id = fields.String()
    element_id = fields.String()
    name = fields.String()
    topic = fields.String()
    worker_id = fields.String(allow_none=True)
    lock_expiration = LocalDateTime(allow_none=True)
    retries = fields.Integer(allow_none=True)


class InstanceDetailSchema(InstanceSchema):
    definition_version = fields.Integer()
    applicant = fields.Nested(ApplicantSchema, allow_none=True, metadata={
        "description": "the applicant recorded at intake (identifiers masked for those not handling the case)"})
    query_code = fields.String(metadata={
        "description": "start only: the applicant's query code, printed on the receipt; never shown again"})
    documents = fields.List(fields.Dict(), metadata={"description": "start only: the notices issued (the receipt)"})
    tasks = fields.List(fields.Nested(TaskSchema))
    timers = fields.List(fields.Nested(TimerSchema))
    messages = fields.List(fields.Nested(MessageWaitSchema))
    external_tasks = fields.List(fields.Nested(ExternalWaitSchema), metadata={
        "description": "service tasks waiting for a worker (/engine-rest/external-task)"})


class InstanceListArgs(PageArgs):
    key = fields.String()
    state = fields.String(validate=validate.OneOf(STATES))
    business_key = fields.String()
    started_by = fields.String(metadata={"description": "the starter's username, or `me`"})
    owner = fields.String(metadata={"description": "the owner's username, or `me`"})
    case_number = fields.String(metadata={"description": "办件编号, or its beginning"})
    # 办件查询 (app/cases/search.py): indexed columns of the case and its intake row, never the case data
    applicant = fields.String(validate=validate.Length(min=1, max=200),
                              metadata={"description": "the applicant's (or agent's) name, or its beginning"})
    id_number = fields.String(validate=validate.Length(min=1, max=64),
                              metadata={"description": "the applicant's or agent's ID number (not for ops)"})
    phone = fields.String(validate=validate.Length(min=1, max=30),
                          metadata={"description": "the applicant's or agent's phone (not for ops)"})
    matter = fields.String(metadata={"description": "matter code (事项编码)"})
    department = fields.String(metadata={"description": "department code"})
    received_from = IsoDate(metadata={"description": "received (收件) on or after this day, YYYY-MM-DD"})
    received_to = IsoDate(metadata={"description": "received on or before this day, YYYY-MM-DD"})
    after = fields.String(validate=validate.Length(max=100), metadata={
        "description": "keyset paging: the `next` of the previous page (cheaper than `offset` deep in a list)"})


class ListedInstanceSchema(InstanceSchema):
    """A case in a list: everything but its data (GET /instances/{id} has it), so a page stays small; the
    applicant recorded at intake."""

    applicant = fields.Nested(ApplicantSchema, allow_none=True, metadata={
        "description": "the applicant recorded at intake (identifiers masked for those not handling the case)"})

    class Meta:
        exclude = ("data",)


class InstanceListSchema(ApiSchema):
    items = fields.List(fields.Nested(ListedInstanceSchema))
    total = fields.Integer(metadata={"description": "how many cases match, counted up to 10,000"})
    total_capped = fields.Boolean(metadata={
        "description": "true: more than 10,000 cases match (`total` is then 10,000); narrow the filters"})
    total_estimated = fields.Boolean(metadata={
        "description": "true: the total is the database's estimate (a caller who sees only the cases they took part "
                       "in, and more than 10,000 cases seem to match): counting would read every case"})
    next = fields.String(allow_none=True, metadata={
        "description": "pass as `after` for the page after this one; null when this page is not full"})


class CancelSchema(ApiSchema):
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=1000))


class SubmissionListSchema(ApiSchema):
    items = fields.List(fields.Nested(SubmissionSchema))


class AuditListSchema(ApiSchema):
    items = fields.List(fields.Nested(AuditSchema))


def _detail(instance, saved=None):
    """A case with its open tasks, timers and awaited messages: read back, or straight from what was just written.

    Applicant identifiers are masked for a caller who does not handle the case (people.access).
    """
    from ..definitions.models import ProcessDefinition
    from ..extensions import db

    if saved is not None:
        from .documents import DocumentSchema
        from .documents import row as document_row

        # the hall's answer: its fields of the case (number, clock), the applicant, the query code
        extra = {**summary.FIELDS, "applicant": None, **saved.extra, **saved.answer}
        return {**extra, "tasks": summary.task_views(saved.new_tasks), "timers": saved.new_timers,
                "messages": [{"element_id": m.element_id, "name": m.name} for m in saved.snapshot.messages],
                "external_tasks": [{"id": t.id, "element_id": t.element_id, "name": t.name, "topic": t.topic}
                                   for t in saved.snapshot.external_tasks],
                # through the documents' schema: issued_at as ISO +08:00 like every other time
                "documents": DocumentSchema(many=True).dump([document_row(d, query_code=extra.get("query_code"))
                                                             for d in saved.extra["documents"]])}
    definition = db.session.get(ProcessDefinition, instance.definition_id)
    head = {**attributes(summary.view(instance), InstanceSchema), "definition_version": definition.version,
            "applicant": intake.applicant_of(intake.intake_of(instance.id))}
    if not access.handles(current_user(), instance):
        head["data"] = access.mask(head["data"])
        head["applicant"] = access.mask(head["applicant"])
    from ..instances.external_models import ExternalTask

    waiting = db.session.scalars(db.select(ExternalTask).where(ExternalTask.instance_id == instance.id,
                                                               ExternalTask.state == "open")
                                 .order_by(ExternalTask.created_at))
    return {**head, "tasks": summary.task_views(service.open_tasks(instance.id)),
            "timers": service.waiting_timers(instance.id),
            "messages": service.waiting_messages(instance.id), "external_tasks": list(waiting)}


@blp.route("/process-definitions/<key>/instances")
class StartInstance(MethodView):
    @require("clerk", "supervisor", "ops")
    @blp.arguments(StartSchema)
    @blp.response(201, InstanceDetailSchema)
    def post(self, body, key):
        """Start a case of the current version of a definition (newest not withdrawn), or of `version`.

        409 when that version is suspended or withdrawn, with the reason.
        """
        definition = definitions.startable(key, body.get("version"))
        starting.check_start(current_user(), definition)  # 403 for a matter of a department the caller does not serve
        instance, saved = service.start(definition, body["data"], body.get("business_key"), current_user().username,
                                        applicant=body.get("applicant"), answer=_issued)
        return _detail(instance, saved)


def _issued(instance_id: str) -> dict:
    """In the start's transaction: the notices it issued, as plain values that outlive the commit."""
    return {"documents": [SimpleNamespace(**{c.key: getattr(d, c.key) for c in d.__table__.columns})
                          for d in documents.for_instance(instance_id)]}


@blp.route("/instances")
class Instances(MethodView):
    @require()
    @blp.arguments(InstanceListArgs, location="query")
    @blp.response(200, InstanceListSchema)
    def get(self, args):
        """办件查询: the cases the caller may see, finished ones included, newest first — by case number, applicant
        (name, ID number, phone: the applicant's or the agent's), business key, matter, department, state, day of
        receipt, starter or owner (`me`). Summaries without the case data (`GET /instances/{id}` has it).

        A clerk sees their department's cases and those they take part in; applicants' identifiers are masked
        in cases they do not handle (see the README's security section). Every filter is an indexed column.
        """
        from ..hall.window import search

        user = current_user()
        owner = user.username if args.get("owner") == "me" else args.get("owner")
        started_by = user.username if args.get("started_by") == "me" else args.get("started_by")
        filters = search.Filters(
            case_number=args.get("case_number"), applicant=args.get("applicant"), id_number=args.get("id_number"),
            phone=args.get("phone"), business_key=args.get("business_key"), matter=args.get("matter"),
            key=args.get("key"), department=args.get("department"), state=args.get("state"),
            received_from=args.get("received_from"), received_to=args.get("received_to"), started_by=started_by,
            owner=owner)
        items, total = search.find(user, filters, limit=args["limit"], offset=args["offset"], summary=True,
                                   after=search.cursor(args["after"]) if args.get("after") else None)
        mine = access.handled(user, items)
        applicants = search.applicants_of([i.id for i in items])
        rows = []
        for i in summary.views(items):
            row = {**{name: getattr(i, name) for name in ListedInstanceSchema._declared_fields
                      if name not in ("data", "applicant")}, "applicant": applicants.get(i.id)}
            if i.id not in mine:
                row["applicant"] = access.mask(row["applicant"])
            rows.append(row)
        return {"items": rows, "total": min(total, search.COUNT_CAP), "total_capped": total > search.COUNT_CAP,
                "total_estimated": isinstance(total, search.Estimated),
                "next": search.next_cursor(items) if len(items) == args["limit"] else None}


def hall_filters(*, owner: str | None = None, case_number: str | None = None) -> tuple:
    """Filters on the hall's side of a case (its owner, its number), as conditions on the runtime's rows."""
    conditions = []
    if owner:
        conditions.append(HallCase.owner == owner)
    if case_number:
        conditions.append(HallCase.case_number == case_number.strip())
    if not conditions:
        return ()
    return (ProcessInstance.id.in_(sa.select(HallCase.instance_id).where(*conditions)),)


@blp.route("/instances/<instance_id>")
class Instance(MethodView):
    @require()
    @blp.response(200, InstanceDetailSchema)
    def get(self, instance_id):
        """One case: state, data, open tasks, waiting timers and messages (404 for another department's case)."""
        return _detail(access.visible_case(current_user(), instance_id))


@blp.route("/instances/<instance_id>/cancel")
class CancelInstance(MethodView):
    @require("supervisor", "ops")
    @blp.arguments(CancelSchema)
    @blp.response(200, InstanceDetailSchema)
    def post(self, body, instance_id):
        """Cancel a running case (its department's supervisor, 中心督查, ops): open tasks and timers end too."""
        user = current_user()
        instance = service.get_or_404(instance_id)
        access.check_manage_case(user, instance)
        instance = service.cancel(instance, user.username, body.get("reason"))
        return _detail(instance)


@blp.route("/instances/<instance_id>/audit")
class InstanceAudit(MethodView):
    @require()
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, AuditListSchema)
    def get(self, args, instance_id):
        """The case's audit trail: engine steps and user actions, oldest first (404 for another department's case)."""
        user = current_user()
        instance = access.visible_case(user, instance_id)
        entries = audit.for_instance(instance_id, limit=args["limit"], offset=args["offset"])
        if not access.handles(user, instance):
            entries = [{**attributes(e, AuditSchema), "details": access.mask(e.details)} for e in entries]
        return {"items": entries}


@blp.route("/instances/<instance_id>/submissions")
class InstanceSubmissions(MethodView):
    @require()
    @blp.response(200, SubmissionListSchema)
    def get(self, instance_id):
        """What each completed task of the case was submitted with (who, when, what), oldest first — a task's
        local data, kept whole even where only its declared outputs reached the case data (404 for a case one
        may not see; identifiers masked for one who does not handle it)."""
        from .tasks import submissions_for

        user = current_user()
        instance = access.visible_case(user, instance_id)
        return {"items": submissions_for(user, instance.id)}


class CaseStatusArgs(ApiSchema):
    case_number = fields.String(required=True, validate=validate.Length(min=1, max=40))
    query_code = fields.String(required=True, validate=validate.Length(min=1, max=40))


class CaseStatusSchema(ApiSchema):
    case_number = fields.String()
    matter = fields.String(metadata={"description": "the matter's name"})
    status = fields.String(metadata={"description": "已受理 | 待补正 | 办理中 | 已办结 ... in Chinese"})
    state = fields.String()
    outcome = fields.String(allow_none=True)
    outcome_name = fields.String(allow_none=True, metadata={"description": "the outcome in Chinese: 准予, 不予许可..."})
    received_on = fields.Date(allow_none=True)
    due_date = fields.Date(allow_none=True)
    current_steps = fields.List(fields.String(), metadata={"description": "the names of the open steps (审核...)"})
    notices = fields.List(fields.Dict(), metadata={"description": "title, number and date of each notice issued"})


class NoBodySchema(ApiSchema):
    """A request that takes no fields: anything sent is refused (422), not silently ignored."""


class QueryCodeSchema(ApiSchema):
    query_code = fields.String(metadata={"description": "the new code; the old one stops working"})
    receipt = fields.Dict(metadata={"description": "the new receipt, printed with the new code"})


@blp.route("/case-status")
class CaseStatus(MethodView):
    @blp.arguments(CaseStatusArgs)
    @blp.response(200, CaseStatusSchema)
    def post(self, body):
        """For the applicant, no token: the progress of a case by its number and query code (办件查询).

        404 for a wrong number or a wrong code alike; the answer holds no personal data.
        """
        return intake.status(body["case_number"], body["query_code"])


@blp.route("/instances/<instance_id>/query-code")
class ResetQueryCode(MethodView):
    @require("clerk", "supervisor")
    @blp.arguments(NoBodySchema, required=False)
    @blp.response(200, QueryCodeSchema)
    def post(self, _body, instance_id):
        """A new query code for a lost one, and a new receipt with it (those who handle the case)."""
        from .documents import row as document_row

        user = current_user()
        instance = access.visible_case(user, instance_id)
        if not access.handles(user, instance):
            from ..errors import Forbidden

            raise Forbidden("只有经办该办件的人员可以重置查询码", {"instance_id": instance_id})
        code, receipt = intake.reissue_receipt(instance, user.username)
        return {"query_code": code, "receipt": document_row(receipt, query_code=code)}


class CourseEventSchema(ApiSchema):
    id = fields.Integer()
    kind = fields.String(metadata={"description": "received | accepted | deemed_accepted | not_accepted | "
                                                 "supplement_notice | supplement_received | special_started | "
                                                 "special_ended | extended | decided | forwarded | higher_replied | "
                                                 "delivered | supplement_timeout | cancelled | withdrawn | closed"})
    name = fields.String(metadata={"description": "the event in Chinese: 收件, 受理, 视为受理, 决定, 送达, 办结…"})
    at = LocalDateTime()
    actor = fields.String(allow_none=True)
    post = fields.String(allow_none=True)
    task_id = fields.String(allow_none=True)
    element_id = fields.String(allow_none=True)
    data = fields.Dict(metadata={"description": "what the event carries: a decision and its authority, reasons, "
                                                "the materials listed, the days of an extension…"})


class CourseSchema(ApiSchema):
    instance_id = fields.String()
    case_number = fields.String(allow_none=True)
    items = fields.List(fields.Nested(CourseEventSchema))


@blp.route("/instances/<instance_id>/course")
class InstanceCourse(MethodView):
    @require()
    @blp.response(200, CourseSchema)
    def get(self, instance_id):
        """The case's legal course (办件过程), oldest first: 收件, 受理 or 视为受理 (Art. 32), 补正告知 and 补正收件,
        特别程序, 延期, 决定 (with its date and deciding authority), 上报 and 上级答复, 送达, 办结… (404 for a case
        one may not see; identifiers masked for one who does not handle it)."""
        from ..hall import cases, course

        user = current_user()
        instance = access.visible_case(user, instance_id)
        events = [course.view(e) for e in course.of(instance.id)]
        if not access.handles(user, instance):
            events = [{**e, "data": access.mask(e["data"])} for e in events]
        case = cases.get(instance.id)
        return {"instance_id": instance.id, "case_number": case.case_number if case else None, "items": events}
