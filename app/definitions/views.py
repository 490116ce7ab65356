"""/api/v1/process-definitions: deploy BPMN/DMN files, list and read definitions."""

from __future__ import annotations

from flask import request
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from ..blueprint import Blueprint
from ..errors import BadRequest
from ..extensions import db
from ..forms import service as forms
from ..instances import service as instances
from ..matters import service as matters
from ..people.auth import current_user, require
from ..schemas import LocalDateTime, PageArgs, attributes
from . import service

blp = Blueprint("process-definitions", __name__, url_prefix="/api/v1/process-definitions",
                description="流程定义：部署 BPMN/DMN 文件，每次内容变化生成新版本")


class DefinitionSchema(Schema):
    id = fields.Integer()
    key = fields.String()
    version = fields.Integer()
    kind = fields.String()
    name = fields.String()
    filename = fields.String()
    checksum = fields.String()
    timer_start = fields.Boolean()
    deployed_at = LocalDateTime()
    deployed_by = fields.String(allow_none=True)


class DeployedSchema(DefinitionSchema):
    created = fields.Boolean(metadata={"description": "false when the same content was already the latest version"})


class DeployedMatterSchema(Schema):
    code = fields.String()
    name = fields.String()
    process_key = fields.String()
    filename = fields.String()
    checksum = fields.String()
    updated_at = LocalDateTime()
    created = fields.Boolean(metadata={"description": "false when the record was already the same"})


class DeployResultSchema(Schema):
    items = fields.List(fields.Nested(DeployedSchema))
    matters = fields.List(fields.Nested(DeployedMatterSchema),
                          metadata={"description": "matter records (.yaml) uploaded beside the diagrams"})


class DefinitionListArgs(PageArgs):
    kind = fields.String(metadata={"description": "bpmn | dmn"})
    q = fields.String(metadata={"description": "key or name contains"})


class DefinitionListSchema(Schema):
    items = fields.List(fields.Nested(DefinitionSchema))
    total = fields.Integer()


class DefinitionDetailSchema(DefinitionSchema):
    versions = fields.List(fields.Nested(DefinitionSchema))
    user_tasks = fields.List(fields.Dict())


class VersionArgs(Schema):
    version = fields.Integer(validate=validate.Range(min=1, max=1_000_000),
                             metadata={"description": "a given version instead of the latest"})


def _as_dict(definition, **extra):
    return {**attributes(definition, DefinitionSchema), **extra}


def _matter_dict(matter, **extra):
    return {**{c: getattr(matter, c) for c in DeployedMatterSchema().fields if c != "created"}, **extra}


@blp.route("")
class Definitions(MethodView):
    @require()
    @blp.arguments(DefinitionListArgs, location="query")
    @blp.response(200, DefinitionListSchema)
    def get(self, args):
        """The latest version of every definition."""
        items, total = service.list_latest(kind=args.get("kind"), search=args.get("q"),
                                           limit=args["limit"], offset=args["offset"])
        return {"items": items, "total": total}

    @require("analyst", "ops")
    @blp.response(201, DeployResultSchema)
    @blp.alt_response(200, schema=DeployResultSchema, description="nothing new: same content as the latest version")
    def post(self):
        """Deploy one or more BPMN/DMN files, and matter records (.yaml), in multipart field `file` (repeatable).

        Each executable process becomes version n+1 of its key when its content changed; the same content
        again answers 200 with the existing version. A matter's yaml (processes/<dept>/<code>.yaml) updates
        its record in the matter guide unless unchanged. Nothing is stored if any file is invalid.
        """
        files = request.files.getlist("file")
        if not files:
            raise BadRequest("请在 multipart 字段 file 中上传 BPMN 或 DMN 文件", {"field": "file"})
        user = current_user()
        results = []
        matter_results = []
        # Forms first (diagrams name them), then DMN (diagrams call them), then diagrams; matter records last.
        ordered = sorted(files, key=lambda f: (matters.is_matter_file(f.filename),
                                               not (f.filename or "").lower().endswith(".json"),
                                               not (f.filename or "").lower().endswith(".dmn")))
        in_upload = frozenset((f.filename or "").rsplit("/", 1)[-1][:-5] for f in files
                              if (f.filename or "").lower().endswith(".json"))
        form_results = []
        try:
            for upload in ordered:
                if (upload.filename or "").lower().endswith(".json"):
                    form_results.append(forms.deploy_file(upload.filename, upload.read(), user.username))
                elif matters.is_matter_file(upload.filename):
                    matter_results.append(matters.deploy(upload.filename, upload.read(), user.username))
                else:
                    results.extend(service.deploy(upload.filename or "upload.bpmn", upload.read(), user.username,
                                                  forms_in_upload=in_upload))
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
        instances.arm_timer_starts(results)
        created = any(c for _, c in results) or any(c for _, c in matter_results) or any(c for _, c in form_results)
        return {"items": [_as_dict(d, created=c) for d, c in results],
                "matters": [_matter_dict(m, created=c) for m, c in matter_results]}, 201 if created else 200


@blp.route("/<key>")
class Definition(MethodView):
    @require()
    @blp.arguments(VersionArgs, location="query")
    @blp.response(200, DefinitionDetailSchema)
    def get(self, args, key):
        """One definition (latest version unless `version` is given), with all its versions."""
        definition = (service.get_version_or_404(key, args["version"]) if args.get("version")
                      else service.get_latest_or_404(key))
        user_tasks = []
        if definition.kind == "bpmn":
            process = service.compiled(definition)
            user_tasks = [{"element_id": t.element_id, "name": t.name, "post": t.post, "form_key": t.form_key}
                          for t in process.user_tasks.values()]
        return _as_dict(definition, versions=service.versions(key), user_tasks=user_tasks)


@blp.route("/<key>/xml")
class DefinitionXml(MethodView):
    @require()
    @blp.arguments(VersionArgs, location="query")
    def get(self, args, key):
        """The BPMN/DMN XML of a version, for a modeler."""
        definition = (service.get_version_or_404(key, args["version"]) if args.get("version")
                      else service.get_latest_or_404(key))
        return definition.content, 200, {"Content-Type": "application/xml; charset=utf-8"}
