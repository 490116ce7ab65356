"""/api/v1/matters: the public matter guide (办事指南) with the nine disclosures (九公开), no token needed; a
record's versions (`/history`, signed in) and changes (`PATCH`, those who deploy the catalog)."""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import fields, validate

from ..definitions import service as definitions
from ..extensions import db
from ..matters import declared, service
from ..matters.laws import REFERENCE_YEAR
from ..matters.models import KIND_NAMES, KINDS, TYPES
from ..people.auth import current_user, require
from ..schemas import ApiSchema, IsoDate, LocalDateTime, PageArgs
from .blueprint import Blueprint

STATES = ("active", "cancelled", "pending", "all")

blp = Blueprint("matters", __name__, url_prefix="/api/v1/matters",
                description="办事指南：事项目录与九公开（无需令牌）")


class MatterListArgs(PageArgs):
    department = fields.String(metadata={"description": "implementing department code, e.g. fgj"})
    kind = fields.String(validate=validate.OneOf(KINDS), metadata={"description": " | ".join(KINDS)})
    type = fields.String(validate=validate.OneOf(list(TYPES)), metadata={"description": "事项类型, e.g. 行政许可"})
    keyword = fields.String(metadata={"description": "contained in the name or the code"})
    state = fields.String(load_default="active", validate=validate.OneOf(STATES),
                          metadata={"description": "active (default: offered today) | cancelled (kept in the "
                                                   "catalog, not offered for new cases) | pending | all"})


class MatterItemSchema(ApiSchema):
    code = fields.String()
    name = fields.String()
    type = fields.String()
    department = fields.String()
    department_name = fields.String(allow_none=True)
    kind = fields.String()
    kind_name = fields.String()
    promised_days = fields.Integer()
    statutory_days = fields.Integer()
    state = fields.String(metadata={"description": "active | cancelled (not offered for new cases) | pending"})
    effective_from = fields.Date(allow_none=True, metadata={"description": "in force from"})
    cancelled_on = fields.Date(allow_none=True, metadata={"description": "cancelled on (null: in force)"})
    fee_charged = fields.Boolean()
    online = fields.Boolean()
    green_channel = fields.Boolean()
    process_key = fields.String()


class MatterListSchema(ApiSchema):
    items = fields.List(fields.Nested(MatterItemSchema))
    total = fields.Integer()
    catalog_year = fields.Integer(metadata={"description": "the year the catalog describes (its laws and matters)"})


class DepartmentRefSchema(ApiSchema):
    code = fields.String()
    name = fields.String()


class HandlingBodySchema(ApiSchema):
    department = fields.String()
    department_name = fields.String()
    co_departments = fields.List(fields.Nested(DepartmentRefSchema))
    higher_authority = fields.String(allow_none=True)
    text = fields.String(metadata={"description": "办事主体, as the public reads it"})


class ProcessRefSchema(ApiSchema):
    key = fields.String()
    version = fields.Integer()
    name = fields.String()
    deployed_at = LocalDateTime()


class MatterDetailSchema(MatterItemSchema):
    # the nine disclosures (九公开)
    handling_body = fields.Nested(HandlingBodySchema, metadata={"description": "办事主体"})
    procedure = fields.List(fields.String(), metadata={"description": "办理程序"})
    legal_basis = fields.List(fields.String(), metadata={"description": "办理依据"})
    statutory_basis = fields.String(allow_none=True, metadata={"description": "法定时限的依据"})
    materials = fields.List(fields.Dict(), metadata={"description": "申报材料"})
    promised_days = fields.Integer(metadata={"description": "承诺时限（工作日）"})
    fee_basis = fields.String(metadata={"description": "收费依据"})
    fee_standard = fields.String(metadata={"description": "收费标准"})
    result = fields.Dict(metadata={"description": "办理结果"})
    acceptance_conditions = fields.String(metadata={"description": "受理条件"})
    # the rest of the record
    co_departments = fields.List(fields.String())
    higher_authority = fields.String(allow_none=True)
    special_procedures = fields.List(fields.Dict(), metadata={"description": "特别程序（不计入办理时限）"})
    place = fields.String(allow_none=True)
    hours = fields.String(allow_none=True)
    visits = fields.Integer(allow_none=True)
    consultation = fields.String(allow_none=True)
    complaint = fields.String(allow_none=True)
    extra = fields.Dict(metadata={"description": "fields of the record beyond the catalog format"})
    process = fields.Nested(ProcessRefSchema, allow_none=True,
                            metadata={"description": "the current deployed version of the matter's diagram (newest not withdrawn)"})
    updated_at = LocalDateTime()
    version = fields.Integer(allow_none=True, metadata={"description": "the record's version in force (see /history)"})


CHANGE_ROLES = ("analyst", "ops")  # and admin: those who deploy the catalog's records


class MatterChangeSchema(ApiSchema):
    changes = fields.Dict(keys=fields.String(), required=True, error_messages={
        "required": "请给出要修改的字段 changes，如 {{\"promised_days\": 10}}"}, metadata={
        "description": "fields of the record to set, as in its yaml (e.g. {\"promised_days\": 10}); the whole "
                       "record is checked again; code and department cannot change"})
    # required: checked by the service, so a missing or blank reason answers 422 saying so (请填写变更理由)
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(
        max=service.REASON_MAX, error=f"变更理由不能超过 {service.REASON_MAX} 字"),
        metadata={"description": "why the record changes (kept in its history); required"})
    effective_from = IsoDate(load_default=None, metadata={
        "description": "the date the change takes effect (Asia/Shanghai), YYYY-MM-DD: today (the default) or later, "
                       "never before the latest version's; until then the version is pending"})


class MatterFieldChangeSchema(ApiSchema):
    field = fields.String()
    before = fields.Raw(allow_none=True)
    after = fields.Raw(allow_none=True)


class MatterVersionSchema(ApiSchema):
    version = fields.Integer()
    state = fields.String(metadata={"description": "in_force | pending (takes effect later) | superseded"})
    effective_from = fields.Date(metadata={"description": "the date it takes (took) effect, Asia/Shanghai"})
    promised_days = fields.Integer(metadata={"description": "承诺时限 (working days) in this version"})
    statutory_days = fields.Integer(metadata={"description": "法定时限 (working days) in this version"})
    changed_by = fields.String(allow_none=True)
    reason = fields.String()
    changed_at = LocalDateTime()
    applied_at = LocalDateTime(allow_none=True, metadata={"description": "when it became the guide's record"})
    changes = fields.List(fields.Nested(MatterFieldChangeSchema), metadata={
        "description": "the fields that differ from the version before (empty for the first)"})


class MatterHistorySchema(ApiSchema):
    code = fields.String()
    name = fields.String()
    version = fields.Integer(allow_none=True, metadata={"description": "the version in force"})
    items = fields.List(fields.Nested(MatterVersionSchema), metadata={"description": "newest first"})


def _item(matter, names: dict[str, str]) -> dict:
    return {**{name: getattr(matter, name) for name in MatterItemSchema().fields
               if name not in ("department", "department_name", "kind_name", "state")},
            "department": matter.department_code, "department_name": names.get(matter.department_code),
            "kind_name": KIND_NAMES.get(matter.kind, matter.kind), "state": service.state_of(matter)}


@blp.route("")
class Matters(MethodView):
    @blp.arguments(MatterListArgs, location="query")
    @blp.response(200, MatterListSchema)
    def get(self, args):
        """The catalog: filter by department, kind, type or keyword (name or code); cancelled matters only
        with `state=cancelled` or `state=all`."""
        items, total = service.search(department=args.get("department"), kind=args.get("kind"),
                                      type_=args.get("type"), keyword=args.get("keyword"), state=args["state"],
                                      limit=args["limit"], offset=args["offset"])
        names = service.department_names()
        return {"items": [_item(m, names) for m in items], "total": total, "catalog_year": REFERENCE_YEAR}


@blp.route("/<code>")
class Matter(MethodView):
    @blp.response(200, MatterDetailSchema)
    def get(self, code):
        """One matter's guide: the nine disclosures and the rest of its record."""
        matter = service.get_or_404(code)
        names = service.department_names()
        detail = {name: getattr(matter, name) for name in MatterDetailSchema().fields if hasattr(matter, name)}
        definition = definitions.current(matter.process_key)
        known = set(service.FIELDS)
        return {**detail, **_item(matter, names), "handling_body": service.handling_body(matter, names),
                "statutory_basis": (matter.record or {}).get("statutory_basis"),
                **{field: declared.nested_of(field, getattr(matter, field)) for field in declared.NESTED_KEYS},
                "extra": declared.extra_of(matter.record, known),  # the declared record, never a blob
                "process": definition if definition is not None and definition.kind == "bpmn" else None}

    @require(*CHANGE_ROLES)
    @blp.arguments(MatterChangeSchema)
    @blp.response(200, MatterVersionSchema)
    def patch(self, body, code):
        """Change a matter's record (e.g. its promised limit): a new version with a reason (required: 422 without)
        taking effect on `effective_from` (today by default, never in the past). The whole record is checked as a
        deployed yaml is. Cases received from that date run under the new version; cases received before keep
        theirs. Those who deploy the catalog (analyst, ops, admin)."""
        row = service.change(code, body["changes"], body["reason"], body.get("effective_from"),
                             current_user().username)
        db.session.commit()
        _, items = service.history(code)
        return next(item for item in items if item["version"] == row.version)


@blp.route("/<code>/history")
class MatterHistory(MethodView):
    @require()
    @blp.response(200, MatterHistorySchema)
    def get(self, code):
        """A matter record's versions, newest first: the date each takes effect, its promised and statutory limits,
        who changed it, why, and what changed (each field before and after). Any signed-in user."""
        matter, items = service.history(code)
        return {"code": matter.code, "name": matter.name, "version": matter.version, "items": items}
