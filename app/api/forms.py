"""/api/v1/forms: the JSON Schema forms of user tasks."""

from __future__ import annotations

from flask import request
from flask.views import MethodView
from marshmallow import fields

from ..errors import BadRequest
from ..extensions import db
from ..forms import service
from ..forms.models import Form
from ..people.auth import current_user, require
from ..schemas import ApiSchema, LocalDateTime
from .blueprint import Blueprint

blp = Blueprint("forms", __name__, url_prefix="/api/v1/forms", description="任务表单（JSON Schema）")


class FormSchema(ApiSchema):
    key = fields.String()
    version = fields.Integer()
    schema = fields.Dict()
    deployed_at = LocalDateTime()
    deployed_by = fields.String(allow_none=True)


class FormSummarySchema(ApiSchema):
    key = fields.String()
    version = fields.Integer()
    deployed_at = LocalDateTime()
    deployed_by = fields.String(allow_none=True)


class FormListSchema(ApiSchema):
    items = fields.List(fields.Nested(FormSummarySchema))
    total = fields.Integer()


@blp.route("")
class Forms(MethodView):
    @require()
    @blp.response(200, FormListSchema)
    def get(self):
        """The latest version of every form."""
        newest = db.select(Form.key, db.func.max(Form.version).label("v")).group_by(Form.key).subquery()
        items = list(db.session.scalars(db.select(Form).join(
            newest, (Form.key == newest.c.key) & (Form.version == newest.c.v)).order_by(Form.key)))
        return {"items": items, "total": len(items)}

    @require("analyst", "ops")
    @blp.doc(requestBody={"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["file"], "properties": {"file": {
            "type": "array", "items": {"type": "string", "format": "binary"},
            "description": "JSON Schema forms named <key>.json; repeat the field"}}}}}})
    @blp.response(201, FormListSchema)
    def post(self):
        """Deploy forms: multipart field `file` (repeatable, `<key>.json`)."""
        files = request.files.getlist("file")
        if not files:
            raise BadRequest("请在 multipart 字段 file 中上传 JSON Schema 表单", {"field": "file"})
        deployed = []
        try:
            for upload in files:
                form, _ = service.deploy_file(upload.filename or "", upload.read(), current_user().username)
                deployed.append(form)
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
        return {"items": deployed, "total": len(deployed)}


@blp.route("/<path:key>")
class OneForm(MethodView):
    @blp.response(200, FormSchema)
    def get(self, key):
        """A form's latest version (public: applicants and the workbench render it)."""
        return service.get_latest_or_404(key)
