"""/api/v1/process-definitions: deploy BPMN/DMN files, list and read definitions."""

from __future__ import annotations

from flask import request
from flask.views import MethodView
from marshmallow import INCLUDE, fields, validate

from ..definitions import diff, flows, service
from ..errors import BadRequest
from ..instances import lifecycle
from ..people.auth import current_user, require
from ..schemas import ApiSchema, LocalDateTime, PageArgs, QuerySchema, attributes
from .blueprint import Blueprint

blp = Blueprint("process-definitions", __name__, url_prefix="/api/v1/process-definitions",
                description="流程定义：部署 BPMN/DMN 文件，每次内容变化生成新版本")


class DefinitionSchema(ApiSchema):
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
    state = fields.String(metadata={"description": "active | suspended | withdrawn"})
    state_reason = fields.String(allow_none=True)
    state_changed_at = LocalDateTime(allow_none=True)
    state_changed_by = fields.String(allow_none=True)
    changelog = fields.String(allow_none=True, metadata={"description": "given at deploy (form field changelog)"})
    source = fields.String(allow_none=True, metadata={"description": "api | cli | bootstrap"})


class DeployedSchema(DefinitionSchema):
    created = fields.Boolean(metadata={"description": "false when the same content was already the latest version"})


class DeployedMatterSchema(ApiSchema):
    code = fields.String()
    name = fields.String()
    process_key = fields.String()
    filename = fields.String()
    checksum = fields.String()
    updated_at = LocalDateTime()
    version = fields.Integer(allow_none=True, metadata={
        "description": "the record's version (GET /matters/{code}/history); a changed record is a new one, with the "
                       "form field `changelog` as its reason"})
    created = fields.Boolean(metadata={"description": "false when the record was already the same"})


class FindingSchema(ApiSchema):
    code = fields.String()
    message = fields.String()
    file = fields.String()
    line = fields.Integer(allow_none=True)
    element = fields.String(allow_none=True)

    class Meta:
        unknown = INCLUDE  # post, form_key, field...: what the finding is about


class FileReportSchema(ApiSchema):
    file = fields.String()
    kind = fields.String(metadata={"description": "bpmn | dmn | matter | form | html"})
    ok = fields.Boolean()
    form = fields.Dict(allow_none=True, metadata={"description": "a form file: the key(s) and version deployed"})
    definitions = fields.List(fields.Dict(), metadata={"description": "key, version, created (would be, in a dry run)"})
    matter = fields.Dict(allow_none=True)
    errors = fields.List(fields.Dict())
    warnings = fields.List(fields.Dict())


class DeployResultSchema(ApiSchema):
    items = fields.List(fields.Nested(DeployedSchema))
    matters = fields.List(fields.Nested(DeployedMatterSchema),
                          metadata={"description": "matter records (.yaml) uploaded beside the diagrams"})
    dry_run = fields.Boolean()
    warnings = fields.List(fields.Dict(), metadata={"description": "findings that do not refuse the upload"})
    errors = fields.List(fields.Dict(), metadata={"description": "a dry run's refusals (a real deploy answers 422)"})
    files = fields.List(fields.Nested(FileReportSchema))


class DeployArgs(QuerySchema):
    dry_run = fields.Boolean(load_default=False, metadata={"description": "check and report, store nothing"})
    unknown_posts = fields.String(load_default="refuse", validate=validate.OneOf(("refuse", "allow")),
                                  metadata={"description": "allow: deploy lanes naming no post, with a warning"})


class DefinitionListArgs(PageArgs):
    kind = fields.String(metadata={"description": "bpmn | dmn"})
    q = fields.String(metadata={"description": "key or name contains"})


class DefinitionListSchema(ApiSchema):
    items = fields.List(fields.Nested(DefinitionSchema))
    total = fields.Integer()


class DefinitionDetailSchema(DefinitionSchema):
    versions = fields.List(fields.Nested(DefinitionSchema))
    user_tasks = fields.List(fields.Dict())


class VersionArgs(ApiSchema):
    version = fields.Integer(validate=validate.Range(min=1, max=1_000_000),
                             metadata={"description": "a given version instead of the latest"})


UPLOAD_BODY = {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"],
    "properties": {"file": {"type": "array", "items": {"type": "string", "format": "binary"},
                            "description": "BPMN (.bpmn), DMN (.dmn) and matter (.yaml) files; repeat the field"}}}}}}


def _as_dict(definition, **extra):
    return {**attributes(definition, DefinitionSchema), **extra}


def _flag(name: str) -> str | None:
    """A deploy option, from the query string or a multipart form field."""
    value = request.args.get(name)
    return value if value is not None else request.form.get(name)


def _deploy_options() -> dict:
    dry_run = (_flag("dry_run") or "false").lower()
    if dry_run not in ("true", "false", "1", "0"):
        raise BadRequest("dry_run 应为 true 或 false", {"field": "dry_run"})
    unknown_posts = (_flag("unknown_posts") or "refuse").lower()
    if unknown_posts not in flows.UNKNOWN_POSTS:
        raise BadRequest("unknown_posts 应为 refuse 或 allow", {"field": "unknown_posts"})
    changelog = request.form.get("changelog")
    if changelog is not None and len(changelog) > 10_000:
        raise BadRequest("changelog 不能超过 10000 字", {"field": "changelog"})
    return {"dry_run": dry_run in ("true", "1"), "unknown_posts": unknown_posts, "changelog": changelog or None}


def outcome_body(outcome: flows.Outcome) -> dict:
    """The deploy answer: definitions and matters (as before), warnings, and the per-file report."""
    body = {"dry_run": outcome.dry_run, "warnings": outcome.warnings,
            "files": [{"file": f.file, "kind": f.kind, "ok": f.ok, "definitions": f.definitions,
                       "matter": _matter_line(f.record) if f.kind == "matter" else None, "form": f.form,
                       "errors": f.errors, "warnings": f.warnings} for f in outcome.files]}
    if outcome.dry_run:
        return {**body, "items": [], "matters": [], "errors": outcome.errors}
    return {**body, "items": [_as_dict(d, created=c) for d, c in outcome.deployed],
            "matters": [f.record for f in outcome.files if f.kind == "matter" and f.record], "errors": []}


def _matter_line(record: dict | None) -> dict | None:
    return {k: record[k] for k in ("code", "name", "process_key", "created")} if record else None


@blp.route("")
class Definitions(MethodView):
    @require()
    @blp.arguments(DefinitionListArgs, location="query")
    @blp.response(200, DefinitionListSchema)
    def get(self, args):
        """The current version (newest not withdrawn) of every definition."""
        items, total = service.list_latest(kind=args.get("kind"), search=args.get("q"),
                                           limit=args["limit"], offset=args["offset"])
        return {"items": items, "total": total}

    @require("analyst", "ops")
    @blp.doc(requestBody=UPLOAD_BODY)
    @blp.arguments(DeployArgs, location="query")
    @blp.response(201, DeployResultSchema)
    @blp.alt_response(200, schema=DeployResultSchema,
                      description="nothing new (same content as the current version), or a dry run")
    def post(self, _args):
        """Deploy BPMN/DMN files, and matter records (.yaml), in multipart field `file` (repeatable).

        Each executable process becomes version n+1 of its key when its content changed; the same content
        again answers 200 with the existing version. A matter's yaml (processes/<dept>/<code>.yaml) updates
        its record in the matter guide unless unchanged. Nothing is stored if any file is invalid: 422 with
        every problem (file, line, element) in `details.problems`. Every lane and `camunda:candidateGroups` must
        name an existing post, unless `unknown_posts=allow` (then a warning). Form field `changelog` is kept in
        the deployment history. `dry_run=true` checks everything, reports per file and stores nothing.
        """
        files = request.files.getlist("file")
        if not files:
            raise BadRequest("请在 multipart 字段 file 中上传 BPMN 或 DMN 文件", {"field": "file"})
        options = _deploy_options()
        uploads = [flows.Upload(f.filename or "upload.bpmn", f.read()) for f in files]
        outcome = flows.deploy(uploads, current_user().username, source="api", **options)
        return outcome_body(outcome), 201 if outcome.created and not outcome.dry_run else 200


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


class LifecycleSchema(ApiSchema):
    version = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1, max=1_000_000),
                             metadata={"description": "one version; without it, every version of the key"})
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=1000))
    include_instances = fields.Boolean(load_default=False, metadata={
        "description": "also suspend (activate) the running (suspended) cases of these versions"})


class WithdrawSchema(ApiSchema):
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=1000))


class LifecycleResultSchema(ApiSchema):
    key = fields.String()
    versions = fields.List(fields.Integer(), metadata={"description": "the versions whose state changed"})
    cases = fields.Integer(metadata={"description": "cases suspended or activated with them"})
    current = fields.Integer(allow_none=True, metadata={"description": "withdraw: the version new cases use now"})
    cancelled_timer_starts = fields.Integer()
    armed_timer_starts = fields.Integer()


class EventSchema(ApiSchema):
    id = fields.Integer()
    version = fields.Integer(allow_none=True)
    action = fields.String(metadata={"description": "deployed | suspended | activated | withdrawn | migrated (cases moved to this version)"})
    actor = fields.String(allow_none=True)
    at = LocalDateTime()
    details = fields.Dict()


class HistorySchema(ApiSchema):
    key = fields.String()
    current = fields.Integer(allow_none=True, metadata={"description": "the version new cases use"})
    versions = fields.List(fields.Nested(DefinitionSchema), metadata={"description": "oldest first"})
    events = fields.List(fields.Nested(EventSchema))


class DiffArgs(QuerySchema):
    from_ = fields.Integer(required=True, data_key="from", validate=validate.Range(min=1, max=1_000_000))
    to = fields.Integer(required=True, validate=validate.Range(min=1, max=1_000_000))


class DiffSchema(ApiSchema):
    key = fields.String()
    from_ = fields.Integer(data_key="from", attribute="from")
    to = fields.Integer()
    added = fields.List(fields.Dict(), metadata={"description": "id, type, category (task, flow, event...), name"})
    removed = fields.List(fields.Dict())
    changed = fields.List(fields.Dict(), metadata={"description": "with `changes`: {property: {from, to}}"})
    timers = fields.List(fields.Dict())
    forms = fields.List(fields.Dict())
    summary = fields.Dict()
    identical = fields.Boolean()


@blp.route("/<key>/suspend")
class Suspend(MethodView):
    @require("ops")
    @blp.arguments(LifecycleSchema)
    @blp.response(200, LifecycleResultSchema)
    def post(self, body, key):
        """Suspend a version, or every version: new cases get 409 with the reason; running cases go on
        (unless `include_instances`). A waiting timer start event is suspended with its version."""
        return lifecycle.suspend(key, body["version"], current_user().username, body["reason"],
                                 body["include_instances"])


@blp.route("/<key>/activate")
class Activate(MethodView):
    @require("ops")
    @blp.arguments(LifecycleSchema)
    @blp.response(200, LifecycleResultSchema)
    def post(self, body, key):
        """Activate a suspended version, or every suspended version; `include_instances` resumes their cases."""
        return lifecycle.activate(key, body["version"], current_user().username, body["reason"],
                                  body["include_instances"])


@blp.route("/<key>/versions/<int:version>/withdraw")
class Withdraw(MethodView):
    @require("ops")
    @blp.arguments(WithdrawSchema)
    @blp.response(200, LifecycleResultSchema)
    def post(self, body, key, version):
        """Withdraw a version for good: new cases use the previous version not withdrawn; the timer start
        event moves back to it. Running cases of the withdrawn version go on."""
        return lifecycle.withdraw(key, version, current_user().username, body["reason"])


@blp.route("/<key>/history")
class History(MethodView):
    @require()
    @blp.response(200, HistorySchema)
    def get(self, key):
        """The deployment history: every version (who, when, changelog, checksum, state) and lifecycle event."""
        return lifecycle.history(key)


@blp.route("/<key>/diff")
class Diff(MethodView):
    @require()
    @blp.arguments(DiffArgs, location="query")
    @blp.response(200, DiffSchema)
    def get(self, args, key):
        """What changed between two versions, by element: tasks, flows, events, gateways, lanes, timers, forms."""
        old = service.get_version_or_404(key, args["from_"])
        new = service.get_version_or_404(key, args["to"])
        if old.kind != "bpmn" or new.kind != "bpmn":
            raise BadRequest("只能比较 BPMN 版本", {"key": key})
        return {"key": key, "from": old.version, "to": new.version,
                **diff.diff(old.content, new.content, old_name=old.filename, new_name=new.filename)}


# ----------------------------------------------------------------------------------- migration of running cases

class MigrationSchema(ApiSchema):
    from_version = fields.Integer(required=True, validate=validate.Range(min=1, max=1_000_000))
    to_version = fields.Integer(required=True, validate=validate.Range(min=1, max=1_000_000))
    mapping = fields.Dict(keys=fields.String(validate=validate.Length(min=1, max=200)),
                          values=fields.String(validate=validate.Length(min=1, max=200)), load_default=dict,
                          metadata={"description": "source element id → target element id, where ids changed; "
                                                   "every other element maps to the same id"})
    instances = fields.List(fields.String(validate=validate.Length(min=1, max=32)), load_default=None,
                            allow_none=True, validate=validate.Length(max=10_000),
                            metadata={"description": "case ids; null: every running case of from_version"})
    dry_run = fields.Boolean(load_default=False, metadata={"description": "report per case, change nothing"})
    batch_size = fields.Integer(load_default=50, validate=validate.Range(min=1, max=1000),
                                metadata={"description": "cases read per batch; each case commits on its own"})


class MigratedElementSchema(ApiSchema):
    element = fields.String(metadata={"description": "the active element in the source version"})
    to = fields.String(metadata={"description": "its counterpart in the target"})
    kind = fields.String(metadata={"description": "user_task | timer | event | subprocess | call_activity | ..."})
    state = fields.String(metadata={"description": "ready | waiting | started"})
    changes = fields.List(fields.String(), metadata={"description": "attributes that differ (lane, form, ...)"})


class MigratedTimerSchema(ApiSchema):
    element = fields.String()
    to = fields.String()
    due_from = fields.String(allow_none=True)
    due_to = fields.String(allow_none=True)
    how = fields.String(metadata={"description": "kept (same timer) | recounted (new duration from the old start) "
                                                 "| restarted (from now) | armed (new boundary event)"})


class MigrationItemSchema(ApiSchema):
    instance_id = fields.String()
    business_key = fields.String(allow_none=True)
    outcome = fields.String(metadata={"description": "migrated | would_migrate (dry run) | refused | skipped"})
    reasons = fields.List(fields.String(), metadata={"description": "why refused or skipped, one per element"})
    elements = fields.List(fields.Nested(MigratedElementSchema))
    timers = fields.List(fields.Nested(MigratedTimerSchema))


class MigrationResultSchema(ApiSchema):
    key = fields.String()
    from_version = fields.Integer()
    to_version = fields.Integer()
    dry_run = fields.Boolean()
    mapping = fields.Dict(keys=fields.String(), values=fields.String())
    suggested_mapping = fields.Dict(keys=fields.String(), values=fields.String(), metadata={
        "description": "SpiffWorkflow's guesses for source elements with no counterpart (not applied)"})
    summary = fields.Dict(keys=fields.String(), values=fields.Integer())
    items = fields.List(fields.Nested(MigrationItemSchema))


@blp.route("/<key>/migrations")
class Migrations(MethodView):
    @require("ops")
    @blp.arguments(MigrationSchema)
    @blp.response(200, MigrationResultSchema)
    def post(self, body, key):
        """Move running cases of one version to another (Camunda's migration): each case all or nothing.

        Every active element maps to the element with the same id in `to_version`, or to the one `mapping`
        names. A case is refused (with a reason per element) where the target cannot hold its state: a waiting
        task, timer or message catch with no counterpart, a type change, a multi-instance in flight, a
        subprocess in flight whose structure changed. Migrated cases keep their open tasks (id, assignee,
        claim); timers keep their due date unless the timer changed. `dry_run` reports and changes nothing.
        """
        from ..instances import migration

        request_ = migration.Request(key, body["from_version"], body["to_version"], body["mapping"],
                                     body["instances"], body["dry_run"], body["batch_size"])
        return migration.migrate(request_, current_user().username)
