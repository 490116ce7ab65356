"""/api/v1/messages: deliver a BPMN message to the cases waiting for it."""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import fields, validate

from ..hall import starting
from ..messages import service
from ..people import access
from ..people.auth import current_user, require
from ..schemas import ApiSchema, BusinessKey
from .blueprint import Blueprint

blp = Blueprint("messages", __name__, url_prefix="/api/v1/messages", description="BPMN 消息（如上级机关批复）")


class MessageSchema(ApiSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    business_key = BusinessKey(load_default=None, allow_none=True)
    instance_id = fields.String(load_default=None, allow_none=True)
    data = fields.Dict(load_default=dict, metadata={"description": "merged into the case data"})
    all = fields.Boolean(load_default=False, metadata={"description": "deliver to every waiting case"})


class DeliveredSchema(ApiSchema):
    delivered_to = fields.List(fields.String(), metadata={"description": "cases that caught it"})
    started = fields.List(fields.String(), metadata={"description": "cases it started (message/signal start)"})
    failed = fields.List(fields.Dict(), metadata={"description": "signals only: cases that could not catch it"})


class SignalSchema(ApiSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    data = fields.Dict(load_default=dict, metadata={"description": "merged into each catching case's data"})


@blp.route("")
class Messages(MethodView):
    @require("clerk", "supervisor", "ops")
    @blp.arguments(MessageSchema)
    @blp.response(200, DeliveredSchema)
    def post(self, body):
        """Correlate by business key or case id; else start the processes waiting for it; 404 when neither."""
        user = current_user()
        return service.deliver(body["name"], business_key=body.get("business_key"),
                               instance_id=body.get("instance_id"), data=body["data"],
                               actor=user.username, all_matches=body["all"], scope=access.case_scope(user),
                               may_start=lambda definition: starting.may_start(user, definition))


signals = Blueprint("signals", __name__, url_prefix="/api/v1/signals", description="BPMN 信号（广播）")


@signals.route("")
class Signals(MethodView):
    @require("center_supervisor", "ops")  # a broadcast reaches every department's cases
    @signals.arguments(SignalSchema)
    @signals.response(200, DeliveredSchema)
    def post(self, body):
        """Broadcast a signal to every waiting case, and start every process that begins with it."""
        return service.broadcast(body["name"], body["data"], current_user().username)
