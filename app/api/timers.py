"""/api/v1/timers: the waiting BPMN timers, and a manual nudge for ops."""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import fields, validate

from ..errors import NotFound
from ..extensions import db
from ..instances.models import ProcessInstance
from ..models_base import paged
from ..people import access
from ..people.auth import current_user, require
from ..schemas import ApiSchema, LocalDateTime, PageArgs
from ..timers import service
from ..timers.models import STATES, Timer
from .blueprint import Blueprint

blp = Blueprint("timers", __name__, url_prefix="/api/v1/timers", description="BPMN 定时器（超期督办等）")


class TimerRowSchema(ApiSchema):
    id = fields.Integer()
    instance_id = fields.String()
    element_id = fields.String()
    name = fields.String()
    kind = fields.String()
    due_at = LocalDateTime()
    state = fields.String()
    fired_at = LocalDateTime(allow_none=True)
    attempts = fields.Integer()
    last_error = fields.String(allow_none=True)


class TimerListArgs(PageArgs):
    state = fields.String(load_default="waiting", validate=validate.OneOf(STATES))
    due_before = LocalDateTime()
    instance = fields.String()


class TimerListSchema(ApiSchema):
    items = fields.List(fields.Nested(TimerRowSchema))
    total = fields.Integer()


class FiredSchema(ApiSchema):
    advanced = fields.Integer()


@blp.route("")
class Timers(MethodView):
    @require("supervisor", "ops")
    @blp.arguments(TimerListArgs, location="query")
    @blp.response(200, TimerListSchema)
    def get(self, args):
        """Timers by state and due time (failed ones are the incidents to look at); a supervisor sees those of
        the cases they may see."""
        query = db.select(Timer).where(Timer.state == args["state"])
        scope = access.case_scope(current_user())
        if scope is not None:
            query = query.join(ProcessInstance, ProcessInstance.id == Timer.instance_id).where(scope)
        if args.get("due_before"):
            query = query.where(Timer.due_at < args["due_before"])
        if args.get("instance"):
            query = query.where(Timer.instance_id == args["instance"])
        items, total = paged(query, Timer.due_at, Timer.id, limit=args["limit"], offset=args["offset"])
        return {"items": items, "total": total}


@blp.route("/fire-due")
class FireDue(MethodView):
    @require("ops")
    @blp.response(200, FiredSchema)
    def post(self):
        """Fire the timers due now, without waiting for the scheduler's next pass."""
        return {"advanced": service.fire_due()}


@blp.route("/<int:timer_id>/retry")
class Retry(MethodView):
    @require("ops")
    @blp.response(200, TimerRowSchema)
    def post(self, timer_id):
        """Retry a failed timer: due now, three more attempts; its case leaves the error state."""
        timer = db.session.get(Timer, timer_id)
        if timer is None:
            raise NotFound(f"定时器 {timer_id} 不存在", {"timer_id": timer_id})
        return service.retry(timer, current_user().username)
