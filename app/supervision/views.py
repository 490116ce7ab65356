"""/api/v1/instances/{id}/clock: the case clock."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from ..instances import service as instances
from ..people.auth import require
from ..schemas import LocalDateTime
from . import service

blp = Blueprint("supervision", __name__, url_prefix="/api/v1", description="电子监察：办件计时、红黄灯预警与督办")


class ClockEventSchema(Schema):
    at = LocalDateTime()
    kind = fields.String(metadata={"description": "start | pause | resume | stop"})
    reason = fields.String(allow_none=True)
    element_id = fields.String(allow_none=True)
    working_days = fields.Integer(allow_none=True,
                                  metadata={"description": "resume: the pause's working days; stop: days used"})
    due_date = fields.Date(allow_none=True, metadata={"description": "the due date after the event"})


class ClockSchema(Schema):
    instance_id = fields.String()
    business_key = fields.String(allow_none=True)
    matter_code = fields.String(allow_none=True)
    department_code = fields.String(allow_none=True)
    window_no = fields.Integer(allow_none=True)
    green_channel = fields.Boolean()
    received_on = fields.Date(allow_none=True)
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
    events = fields.List(fields.Nested(ClockEventSchema))


@blp.route("/instances/<instance_id>/clock")
class InstanceClock(MethodView):
    @blp.response(200, ClockSchema)
    @require()
    def get(self, instance_id):
        """The case clock: received, limit, pauses, due date, light, and its history (start/pause/resume/stop)."""
        return service.clock_view(instances.get_or_404(instance_id))
