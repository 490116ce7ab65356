"""/api/v1/supervision/warnings and /api/v1/instances/{id}/clock: electronic supervision and the case clock."""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import fields, validate

from ..extensions import db
from ..hall.supervision import access as warning_access
from ..hall.supervision import service
from ..people import access
from ..people.auth import current_user, require
from ..schemas import ApiSchema, LocalDateTime, PageArgs
from .blueprint import Blueprint

blp = Blueprint("supervision", __name__, url_prefix="/api/v1", description="电子监察：办件计时、红黄灯预警与督办")


class WarningArgs(PageArgs):
    state = fields.String(load_default="open", validate=validate.OneOf(("open", "closed", "all")),
                          metadata={"description": "open (default), closed or all"})
    level = fields.String(validate=validate.OneOf(service.LEVELS))
    kind = fields.String(validate=validate.OneOf(service.KINDS))
    department = fields.String(metadata={"description": "department code, e.g. cgj"})
    instance = fields.String(metadata={"description": "case id"})
    post = fields.String(metadata={"description": "the supervisor post it is escalated to, e.g. 城管局督查岗"})


class WarningSchema(ApiSchema):
    id = fields.Integer()
    instance_id = fields.String()
    task_id = fields.String(allow_none=True)
    kind = fields.String()
    kind_name = fields.String()
    level = fields.String()
    department_code = fields.String(allow_none=True)
    post = fields.String(allow_none=True)
    message = fields.String()
    raised_at = LocalDateTime()
    state = fields.String()
    closed_at = LocalDateTime(allow_none=True)
    closed_by = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    business_key = fields.String(allow_none=True)
    matter_code = fields.String(allow_none=True)
    due_date = fields.Date(allow_none=True)
    case_light = fields.String(allow_none=True)


class WarningListSchema(ApiSchema):
    items = fields.List(fields.Nested(WarningSchema))
    total = fields.Integer(metadata={"description": "how many warnings match, counted up to 10,000"})
    total_capped = fields.Boolean(metadata={
        "description": "true: more than 10,000 warnings match (`total` is then 10,000); narrow the filters"})


class CloseSchema(ApiSchema):
    note = fields.String(required=True, validate=validate.Length(min=1, max=2000, error="请填写处理说明（2000字以内）"))


class ClockEventSchema(ApiSchema):
    at = LocalDateTime()
    kind = fields.String(metadata={"description": "start | pause | resume | stop | extend | forwarded | reply | "
                                                  "accepted_on_receipt | counted (a procedure whose days count) | decide | recomputed"})
    reason = fields.String(allow_none=True)
    element_id = fields.String(allow_none=True)
    working_days = fields.Integer(allow_none=True,
                                  metadata={"description": "resume: the pause's working days; stop: days used"})
    due_date = fields.Date(allow_none=True, metadata={"description": "the due date after the event"})


class HigherSchema(ApiSchema):
    since = LocalDateTime()
    replied_at = LocalDateTime(allow_none=True)
    working_days = fields.Integer(metadata={"description": "the higher authority's working days so far"})


class ExtendSchema(ApiSchema):
    reason = fields.String(required=True, validate=[
        validate.Length(min=1, max=1000, error="请填写延期理由（1000字以内）"),
        validate.Regexp(r"\S", error="请填写延期理由（不能只有空白）")])


class SpecialExtendSchema(ExtendSchema):
    days = fields.Integer(required=True, validate=validate.Range(
        min=1, max=service.SPECIAL_EXTENSION_MAX_DAYS,
        error=f"延长的工作日数应为 1 至 {service.SPECIAL_EXTENSION_MAX_DAYS}"), metadata={
        "description": "working days the special procedure may take beyond its bound, not counted toward the limit"})


class DeliverySchema(ApiSchema):
    due_date = fields.Date(metadata={"description": "Art. 44: within 10 working days of the decision"})
    delivered_at = LocalDateTime(allow_none=True)
    light = fields.String(allow_none=True)
    on_time = fields.Boolean(allow_none=True)


class SpecialSchema(ApiSchema):
    task_id = fields.String(metadata={"description": "the special procedure's task"})
    max_days = fields.Integer(allow_none=True, metadata={
        "description": "working days it may stop the clock (its bound, plus a second notice's days)"})
    extended_days = fields.Integer(metadata={"description": "the second notice's days (once)"})
    running = fields.Boolean(metadata={"description": "false: its bound is spent, the days count again"})


class ClockSchema(ApiSchema):
    instance_id = fields.String()
    case_number = fields.String(allow_none=True)
    business_key = fields.String(allow_none=True)
    matter_code = fields.String(allow_none=True)
    matter_version = fields.Integer(allow_none=True, metadata={
        "description": "the matter record's version the case was received under (GET /matters/{code}/history)"})
    department_code = fields.String(allow_none=True)
    window_no = fields.Integer(allow_none=True)
    green_channel = fields.Boolean()
    received_on = fields.Date(allow_none=True)
    accepted_on = fields.Date(allow_none=True, metadata={
        "description": "受理 (or 视为受理: the receipt date, Art. 32): the limit counts from it"})
    promised_days = fields.Integer(allow_none=True)
    paused_days = fields.Integer()
    paused_since = LocalDateTime(allow_none=True)
    due_date = fields.Date(allow_none=True)
    working_days_left = fields.Integer(allow_none=True, metadata={"description": "negative when overdue"})
    light = fields.String(allow_none=True)
    state = fields.String(metadata={"description": "running | paused | stopped | none (not a matter's case)"})
    outcome = fields.String(allow_none=True)
    working_days_used = fields.Integer(allow_none=True)
    on_time = fields.Boolean(allow_none=True)
    supplement_count = fields.Integer()
    provisional = fields.Boolean(metadata={"description": "the due date rests on the calendar's fallback rule"})
    fallback_years = fields.List(fields.Integer())
    note = fields.String(allow_none=True)
    extended_days = fields.Integer(metadata={"description": "延期 (Art. 42): working days added, once"})
    extended_by = fields.String(allow_none=True)
    extended_at = LocalDateTime(allow_none=True)
    extension_reason = fields.String(allow_none=True)
    accepted_on_receipt = fields.Boolean(metadata={"description": "Art. 32: no supplement notice within 5 working "
                                                                  "days, the case counts as accepted on receipt"})
    decided_at = LocalDateTime(allow_none=True, metadata={"description": "决定: the decision clock stops here"})
    decision = fields.String(allow_none=True, metadata={"description": "granted | refused | higher_approved | ..."})
    deciding_authority = fields.String(allow_none=True)
    delivery = fields.Nested(DeliverySchema, allow_none=True, metadata={"description": "the delivery clock (Art. 44)"})
    closed_at = LocalDateTime(allow_none=True)
    forwarded_at = LocalDateTime(allow_none=True, metadata={"description": "上报: when it went to the higher authority"})
    forward_clock = fields.String(allow_none=True, metadata={"description": "end | pause: the district clock then"})
    higher = fields.Nested(HigherSchema, allow_none=True)
    special = fields.Nested(SpecialSchema, allow_none=True, metadata={
        "description": "the special procedure (Art. 45) whose pause runs or whose bound is spent"})
    events = fields.List(fields.Nested(ClockEventSchema))


@blp.route("/supervision/warnings")
class Warnings(MethodView):
    @require("supervisor", "ops")
    @blp.arguments(WarningArgs, location="query")
    @blp.response(200, WarningListSchema)
    def get(self, args):
        """Supervision warnings of the caller's departments (all: 中心督查, ops), newest first; open ones unless
        `state` says otherwise."""
        items, total = service.search(scope=warning_access.warning_scope(current_user()),
            state=None if args["state"] == "all" else args["state"], level=args.get("level"), kind=args.get("kind"),
            department=args.get("department"), instance=args.get("instance"), post=args.get("post"),
            limit=args["limit"], offset=args["offset"])
        return {"items": items, "total": min(total, service.COUNT_CAP), "total_capped": total > service.COUNT_CAP}


@blp.route("/supervision/warnings/<int:warning_id>/close")
class CloseWarning(MethodView):
    @require("supervisor")
    @blp.arguments(CloseSchema)
    @blp.response(200, WarningSchema)
    def post(self, body, warning_id):
        """Close a warning with a note (a supervisor of its department, 中心督查; another's: 404)."""
        user = current_user()
        warning = service.get_or_404(warning_id)
        warning_access.check_close_warning(user, warning)
        return service.close(warning, user.username, body["note"])


@blp.route("/instances/<instance_id>/clock")
class InstanceClock(MethodView):
    @require()
    @blp.response(200, ClockSchema)
    def get(self, instance_id):
        """The case clock: received, limit, pauses, due date, light, and its history (start/pause/resume/stop)."""
        return service.clock_view(access.visible_case(current_user(), instance_id))


@blp.route("/instances/<instance_id>/extend")
class ExtendInstance(MethodView):
    @require("supervisor")
    @blp.arguments(ExtendSchema)
    @blp.response(200, ClockSchema)
    def post(self, body, instance_id):
        """延期 (Art. 42): extend the case's limit once by 10 working days (a joint case 15), with a reason, approved
        by the head of the case's department (its 负责人岗); a 延期告知书 tells the applicant the reason and the new
        date. 409 for a 即办件, when already extended, after the due date, decided or closed."""
        user = current_user()
        instance = access.visible_case(user, instance_id)
        check_extension(user, instance)
        service.extend(instance, user.username, body["reason"])
        db.session.commit()
        return service.clock_view(instance)


@blp.route("/instances/<instance_id>/special-procedure/extend")
class ExtendSpecialProcedure(MethodView):
    @require("supervisor")
    @blp.arguments(SpecialExtendSchema)
    @blp.response(200, ClockSchema)
    def post(self, body, instance_id):
        """A special procedure's second notice (Art. 45): the running procedure may take `days` more working days
        without counting toward the limit, once, approved by the head of the case's department before its bound is
        spent; a 特别程序告知书（第二次） tells the applicant the reason and the new bound. 409 when no bounded special
        procedure is running, when already extended, or once the bound is spent (the days then count)."""
        user = current_user()
        instance = access.visible_case(user, instance_id)
        check_extension(user, instance)
        service.extend_special(instance, user.username, body["days"], body["reason"])
        db.session.commit()
        return service.clock_view(instance)


def may_extend(user, instance) -> bool:
    """Who approves a 延期 (Art. 42): the head (负责人) of the deciding agency — whoever holds a post of kind `head`
    of the case's department; the admin for the system."""
    if user.is_("admin"):
        return True
    if instance.department_code is None or not user.post_names:
        return False
    from ..extensions import db
    from ..people.models import Post

    return db.session.scalar(db.select(Post.name).where(
        Post.name.in_(user.post_names), Post.kind == "head", Post.department_code == instance.department_code)
        .limit(1)) is not None


def check_extension(user, instance) -> None:
    """The workbench's case page asks this too."""
    if not may_extend(user, instance):
        from ..errors import Forbidden

        raise Forbidden("延期须经本机关负责人批准（《行政许可法》第四十二条）：只有本部门负责人岗可以批准",
                        {"instance_id": instance.id, "department": instance.department_code})
