"""POST /api/v1/instances/{id}/modification: instance modification for ops (Camunda's shape)."""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import fields, validate

from ..engine.modification import Instruction
from ..instances import modification
from ..people import access
from ..people.auth import current_user, require
from ..schemas import ApiSchema, LocalDateTime
from .blueprint import Blueprint

blp = Blueprint("instance_modification", __name__, url_prefix="/api/v1",
                description="办件修改：取消活动、从指定活动前开始（运维）")


class InstructionSchema(ApiSchema):
    type = fields.String(required=True, validate=validate.OneOf(("cancel", "startBeforeActivity")),
                         metadata={"description": "cancel | startBeforeActivity"})
    activityId = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 200),
                               metadata={"description": "the BPMN element"})
    activityInstanceId = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 64),
                                       metadata={"description": "cancel: one active instance (a task's id)"})
    variables = fields.Dict(keys=fields.String(), load_default=dict,
                            metadata={"description": "startBeforeActivity: data the new token carries"})


class ModificationSchema(ApiSchema):
    instructions = fields.List(fields.Nested(InstructionSchema), required=True,
                               validate=validate.Length(1, 50))
    skipCustomListeners = fields.Boolean(load_default=False)
    skipIoMappings = fields.Boolean(load_default=False)
    annotation = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=1000),
                               metadata={"description": "why: kept in the audit trail"})
    dry_run = fields.Boolean(load_default=False, metadata={"description": "say what would happen; change nothing"})


class ElementSchema(ApiSchema):
    id = fields.String(metadata={"description": "the task's id (not for a dry run's new tasks)"})
    element_id = fields.String()
    name = fields.String(allow_none=True)
    post = fields.String(allow_none=True)
    task_id = fields.String()
    process = fields.String()
    topic = fields.String()
    due_at = LocalDateTime()
    new = fields.Boolean()


class ModificationResultSchema(ApiSchema):
    instance_id = fields.String()
    dry_run = fields.Boolean()
    state = fields.String(metadata={"description": "the case's state after the modification"})
    annotation = fields.String(allow_none=True)
    cancelled = fields.List(fields.Nested(ElementSchema))
    started = fields.List(fields.Nested(ElementSchema))
    tasks = fields.List(fields.Nested(ElementSchema), metadata={"description": "open user tasks after it"})
    external_tasks = fields.List(fields.Nested(ElementSchema))
    timers = fields.List(fields.Nested(ElementSchema))
    messages = fields.List(fields.Nested(ElementSchema))


@blp.route("/instances/<instance_id>/modification")
class Modification(MethodView):
    @require("ops")
    @blp.arguments(ModificationSchema)
    @blp.response(200, ModificationResultSchema)
    def post(self, body, instance_id):
        """Move the case's tokens: `cancel` an active activity (by `activityId`, or one instance by
        `activityInstanceId`), `startBeforeActivity` another; applied in order, all or nothing, audited
        (`instance.modified`). Refused with the element's reason where the engine cannot: 409 for the case's
        state (not active, a multi-instance in flight, a subprocess not active), 422 for a wrong instruction."""
        instance = access.visible_case(current_user(), instance_id)
        instructions = [Instruction(i["type"], i.get("activityId"), i.get("activityInstanceId"), i["variables"])
                        for i in body["instructions"]]
        return modification.modify(instance, instructions, actor=current_user().username,
                                   annotation=body.get("annotation"), dry_run=body["dry_run"],
                                   skip_custom_listeners=body["skipCustomListeners"])
