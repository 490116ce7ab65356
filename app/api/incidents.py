"""/api/v1/incidents: failed timers, failed steps and stalled cases, with retry and resolve (ops)."""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import fields, validate

from ..incidents import service
from ..people import access
from ..people.auth import current_user, require
from ..schemas import ApiSchema, LocalDateTime, QuerySchema
from .blueprint import Blueprint

blp = Blueprint("incidents", __name__, url_prefix="/api/v1/incidents",
                description="事件（incident）：失败的定时器、出错的步骤、停滞的办件；重试与结案（运维）")


class IncidentSchema(ApiSchema):
    id = fields.String(metadata={"description": "timer-<id> | case-<case id> | stalled-<case id> | "
                                                "external-<external task id> | step-<id>"})
    kind = fields.String(metadata={"description": "timer | failed_step | stalled | external_task | refused_step"})
    code = fields.String(metadata={"description": "refused_step: case_not_saved | decision_not_deployed"})
    instance_id = fields.String(allow_none=True, metadata={"description": "none for a case that could not start"})
    process_key = fields.String(allow_none=True)
    element_id = fields.String(allow_none=True, metadata={"description": "the BPMN element where it stopped"})
    name = fields.String(allow_none=True)
    error = fields.String(allow_none=True)
    attempts = fields.Integer(allow_none=True)
    since = LocalDateTime()
    actions = fields.List(fields.String())
    status = fields.String(metadata={"description": "after retry or resolve: retried | resolved"})


class IncidentArgs(QuerySchema):
    kind = fields.String(validate=validate.OneOf(service.KINDS))
    instance = fields.String()


class IncidentListSchema(ApiSchema):
    items = fields.List(fields.Nested(IncidentSchema))
    total = fields.Integer()


class ResolveSchema(ApiSchema):
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=1000))


@blp.route("")
class Incidents(MethodView):
    @require("ops", "supervisor")
    @blp.arguments(IncidentArgs, location="query")
    @blp.response(200, IncidentListSchema)
    def get(self, args):
        """Open incidents, newest first, with their element and error (at most 1000 of each kind); a supervisor
        sees those of the cases they may see."""
        items = service.search(args.get("kind"), args.get("instance"), scope=access.case_scope(current_user()))
        return {"items": items, "total": len(items)}


@blp.route("/<incident_id>")
class Incident(MethodView):
    @require("ops", "supervisor")
    @blp.response(200, IncidentSchema)
    def get(self, incident_id):
        """One open incident (404 for one whose case the caller may not see)."""
        return service.get_or_404(incident_id, scope=access.case_scope(current_user()))


@blp.route("/<incident_id>/retry")
class Retry(MethodView):
    @require("ops")
    @blp.response(200, IncidentSchema)
    def post(self, incident_id):
        """Run it again: a failed timer is due now with three more attempts; a case in error runs again."""
        return service.retry(incident_id, current_user().username)


@blp.route("/<incident_id>/resolve")
class Resolve(MethodView):
    @require("ops")
    @blp.arguments(ResolveSchema)
    @blp.response(200, IncidentSchema)
    def post(self, body, incident_id):
        """Close it without running it again: a failed timer is marked resolved, a case in error runs on,
        a stalled case is cancelled with the note."""
        return service.resolve(incident_id, current_user().username, body.get("note"))
