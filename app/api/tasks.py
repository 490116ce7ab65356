"""/api/v1/tasks: list by post/assignee/case/state/due date, claim, unclaim, complete."""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import Schema, fields, validate

from ..hall import summary
from ..people import access, work
from ..people.auth import current_user, require
from ..schemas import LocalDateTime, PageArgs, attributes
from ..tasks import prefill, service, task_forms
from ..tasks.models import STATES
from .blueprint import Blueprint

blp = Blueprint("tasks", __name__, url_prefix="/api/v1/tasks", description="待办任务：按岗位分派，认领、释放、办理")


class TaskSchema(Schema):
    id = fields.String()
    name = fields.String()
    element_id = fields.String()
    post = fields.String(allow_none=True, metadata={"description": "where the task is routed now"})
    home_post = fields.String(allow_none=True, metadata={"description": "its lane's post (differs while diverted)"})
    other_posts = fields.List(fields.String(), metadata={
        "description": "further candidate posts where it may be worked as well (综合窗口 for every department)"})
    assignee = fields.String(allow_none=True)
    state = fields.String()
    due_at = LocalDateTime(allow_none=True)
    light = fields.String(allow_none=True, metadata={"description": "supervision light of the step: green | yellow | red"})
    instance_id = fields.String()
    process_key = fields.String()
    form_key = fields.String(allow_none=True)
    priority = fields.Integer()
    created_at = LocalDateTime()
    completed_at = LocalDateTime(allow_none=True)
    completed_by = fields.String(allow_none=True)


class CompletedSchema(TaskSchema):
    next_tasks = fields.List(fields.Nested(TaskSchema), metadata={"description": "the case's open tasks now"})
    instance_state = fields.String()


class SubmissionSchema(Schema):
    id = fields.Integer()
    instance_id = fields.String()
    task_id = fields.String()
    element_id = fields.String()
    name = fields.String()
    post = fields.String(allow_none=True)
    submitted_by = fields.String(allow_none=True)
    submitted_at = LocalDateTime()
    data = fields.Dict(metadata={"description": "everything the task was completed with (its local data)"})
    outputs = fields.List(fields.String(), allow_none=True,
                          metadata={"description": "what it declared as output to the case data; null: all"})


class TaskDetailSchema(TaskSchema):
    form = fields.Dict(allow_none=True, metadata={
        "description": "the task's JSON Schema form (a Camunda Form's form-js document under `x-form-js`, a "
                       "SpiffWorkflow form's ui schema under `x-ui-schema`)"})
    form_kind = fields.String(allow_none=True, metadata={
        "description": "json_schema | form_js | generated | embedded (an HTML form the server does not check)"})
    form_version = fields.Integer(allow_none=True, metadata={"description": "the form version its binding gives"})
    form_validated = fields.Boolean(metadata={"description": "whether the server checks what is submitted"})
    form_note = fields.String(allow_none=True, metadata={"description": "e.g. that an embedded form is not checked"})
    instructions = fields.String(allow_none=True, metadata={
        "description": "SpiffWorkflow's instructionsForEndUser, `{{ name }}` filled from the task's data"})
    submissions = fields.List(fields.Nested(SubmissionSchema),
                              metadata={"description": "the earlier submissions of its case, oldest first"})
    prefill = fields.Dict(metadata={"description": "values known before the clerk types them (the acceptance "
                                                   "checklist, a supplement notice's missing materials)"})


class TaskListArgs(PageArgs):
    post = fields.String()
    assignee = fields.String(metadata={"description": "a username, or `me` for the caller"})
    instance = fields.String()
    state = fields.String(load_default="open", validate=validate.OneOf(STATES))
    due_before = LocalDateTime()
    due_after = LocalDateTime()
    key = fields.String(metadata={"description": "process definition key"})


class TaskListSchema(Schema):
    items = fields.List(fields.Nested(TaskSchema))
    total = fields.Integer()


class CompleteSchema(Schema):
    data = fields.Dict(load_default=dict)


class ReassignSchema(Schema):
    username = fields.String(load_default=None, allow_none=True, metadata={"description": "a clerk of the post"})
    post = fields.String(load_default=None, allow_none=True, metadata={"description": "the post or its backup"})
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500, error="请填写改派理由（500字以内）"))


@blp.route("")
class Tasks(MethodView):
    @require()
    @blp.arguments(TaskListArgs, location="query")
    @blp.response(200, TaskListSchema)
    def get(self, args):
        """The caller's tasks (their posts' and those they hold; a supervisor's departments'), with counts;
        green-channel first, then by due date."""
        user = current_user()
        assignee = user.username if args.get("assignee") == "me" else args.get("assignee")
        items, total = service.search(post=args.get("post"), assignee=assignee, scope=access.task_scope(user),
                                      instance=args.get("instance"), state=args.get("state"),
                                      due_before=args.get("due_before"), due_after=args.get("due_after"),
                                      process_key=args.get("key"), rank=summary.task_ranking(),
                                      limit=args["limit"], offset=args["offset"])
        return {"items": summary.task_views(items), "total": total}


@blp.route("/<task_id>")
class Task(MethodView):
    @require()
    @blp.response(200, TaskDetailSchema)
    def get(self, task_id):
        """One task with its form (404 for a task of another department's case)."""
        task = access.visible_task(current_user(), task_id)
        form = task_forms.for_task(task)
        return {**attributes(summary.task_view(task), TaskSchema), "form": form.schema, "form_kind": form.kind,
                "form_version": form.version, "form_validated": form.validated, "form_note": form.note,
                "instructions": task_forms.instructions(task), "prefill": prefill.for_task(task),
                "submissions": submissions_for(current_user(), task.instance_id)}


@blp.route("/<task_id>/claim")
class Claim(MethodView):
    @require()
    @blp.response(200, TaskSchema)
    def post(self, task_id):
        """Take the task; 409 when someone else holds it."""
        user = current_user()
        return summary.task_view(work.claim(access.visible_task(user, task_id), user))


@blp.route("/<task_id>/unclaim")
class Unclaim(MethodView):
    @require()
    @blp.response(200, TaskSchema)
    def post(self, task_id):
        """Give the task back to its post (someone else's claim: a supervisor of its department, 中心督查)."""
        user = current_user()
        return summary.task_view(work.unclaim(access.visible_task(user, task_id), user))


@blp.route("/<task_id>/complete")
class Complete(MethodView):
    @require()
    @blp.arguments(CompleteSchema)
    @blp.response(200, CompletedSchema)
    def post(self, body, task_id):
        """Complete with form data (validated against the task's form: 422 lists every field error).

        The answer also carries the case's open tasks after this step, so a workbench can go on without a new query.
        """
        user = current_user()
        task, state, next_tasks = work.complete(access.visible_task(user, task_id), user, body["data"])
        done, *following = summary.task_views([task, *next_tasks])
        return {**attributes(done, TaskSchema), "next_tasks": following, "instance_state": state}


@blp.route("/<task_id>/reassign")
class Reassign(MethodView):
    @require("supervisor")
    @blp.arguments(ReassignSchema)
    @blp.response(200, TaskSchema)
    def post(self, body, task_id):
        """Give the task to a clerk of its post or backup post, or move it to one of those posts (a supervisor of
        its department, 中心督查)."""
        user = current_user()
        task = access.visible_task(user, task_id)
        access.check_manage_task(user, task)
        return summary.task_view(work.reassign(task, user, body["reason"],
                                username=body.get("username"), post=body.get("post")))


def submissions_for(user, instance_id: str) -> list[dict]:
    """The case's task submissions, oldest first; applicant identifiers masked for a caller who does not handle
    the case (people.access)."""
    from ..extensions import db
    from ..instances.models import ProcessInstance

    rows = service.submissions(instance_id)
    instance = db.session.get(ProcessInstance, instance_id)
    if instance is not None and access.handles(user, instance):
        return rows
    return [{**row, "data": access.mask(row["data"])} for row in rows]
