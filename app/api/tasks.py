"""/api/v1/tasks: list by post/assignee/case/state/due date, claim, unclaim, complete; 退回 (send back) and 撤回
(take back), committed here."""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import ValidationError, fields, validate

from ..hall import summary
from ..instances import runtime
from ..people import access, work
from ..people.auth import current_user, require
from ..schemas import ApiSchema, LocalDateTime, PageArgs, attributes
from ..tasks import moves, prefill, service, task_forms
from ..tasks.models import STATES
from .blueprint import Blueprint

blp = Blueprint("tasks", __name__, url_prefix="/api/v1/tasks", description="待办任务：按岗位分派，认领、释放、办理")


class TaskSchema(ApiSchema):
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
    priority = fields.Integer(metadata={
        "description": "rank in a post's list, higher first: the diagram's camunda:priority (50 when none); "
                       "a green-channel case's tasks 1000 higher"})
    created_at = LocalDateTime()
    completed_at = LocalDateTime(allow_none=True)
    completed_by = fields.String(allow_none=True)


class CompletedSchema(TaskSchema):
    next_tasks = fields.List(fields.Nested(TaskSchema), metadata={"description": "the case's open tasks now"})
    instance_state = fields.String()


class SubmissionSchema(ApiSchema):
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


class ReturnedSchema(ApiSchema):
    kind = fields.String(metadata={"description": "sent_back (退回) | taken_back (撤回)"})
    by = fields.String(allow_none=True, metadata={"description": "who sent it back (or took it back)"})
    at = LocalDateTime()
    reason = fields.String(allow_none=True)
    from_step = fields.String(allow_none=True, metadata={"description": "the step it was sent back from"})
    from_element = fields.String(allow_none=True)
    from_task_id = fields.String(allow_none=True)


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
    returned = fields.Nested(ReturnedSchema, allow_none=True, metadata={
        "description": "why the task is open again: the 退回 or 撤回 that reopened it (null: it was not)"})


class TaskListArgs(PageArgs):
    post = fields.String()
    assignee = fields.String(metadata={"description": "a username, or `me` for the caller"})
    instance = fields.String()
    state = fields.String(load_default="open", validate=validate.OneOf(STATES))
    due_before = LocalDateTime()
    due_after = LocalDateTime()
    key = fields.String(metadata={"description": "process definition key"})


class TaskListSchema(ApiSchema):
    items = fields.List(fields.Nested(TaskSchema))
    total = fields.Integer()


class CompleteSchema(ApiSchema):
    data = fields.Dict(load_default=dict)


class ReassignSchema(ApiSchema):
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
        items, total = service.search(post=args.get("post"), assignee=assignee, scope=access.task_scope(user, args.get("post")),
                                      instance=args.get("instance"), state=args.get("state"),
                                      due_before=args.get("due_before"), due_after=args.get("due_after"),
                                      process_key=args.get("key"),
                                      limit=args["limit"], offset=args["offset"],
                                      covered=access.lists_all_at(user, args.get("post")))
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
                "submissions": submissions_for(current_user(), task.instance_id), "returned": moves.returned(task)}


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
        done, state, following = work.complete(access.visible_task(user, task_id), user, body["data"],
                                               views=summary.task_views)
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


class StepChoiceSchema(ApiSchema):
    element_id = fields.String()
    name = fields.String()
    task_id = fields.String(metadata={"description": "the earlier task, completed"})
    post = fields.String(allow_none=True)
    completed_by = fields.String(allow_none=True, metadata={"description": "who completed it: it reopens for them"})
    completed_at = LocalDateTime(allow_none=True)


class SendBackChoicesSchema(ApiSchema):
    task_id = fields.String()
    may_send_back = fields.Boolean(metadata={"description": "whether the caller may send this task back"})
    items = fields.List(fields.Nested(StepChoiceSchema), metadata={
        "description": "the steps completed on the path to this task, oldest first, by name"})


def _reason(required: bool):
    def check(value: str) -> None:
        if required and not value.strip():
            raise ValidationError("请填写退回理由")
    return validate.And(validate.Length(max=500, error="理由不能超过500字"), check)


class SendBackSchema(ApiSchema):
    to = fields.String(required=True, validate=validate.Length(min=1, max=200, error="请选择退回到哪一环节"),
                       metadata={"description": "the element id of an earlier step (GET .../send-back lists them)"},
                       error_messages={"required": "请选择退回到哪一环节"})
    reason = fields.String(required=True, validate=_reason(True), error_messages={"required": "请填写退回理由"})


class TakeBackSchema(ApiSchema):
    reason = fields.String(load_default=None, allow_none=True, validate=_reason(False))


class TaskMoveSchema(ApiSchema):
    task = fields.Nested(TaskSchema, metadata={"description": "the task sent back (now cancelled) or taken back"})
    reopened = fields.Nested(TaskSchema, metadata={"description": "the earlier step, open again"})
    cancelled = fields.List(fields.Nested(TaskSchema), metadata={"description": "tasks cancelled by the move"})
    next_tasks = fields.List(fields.Nested(TaskSchema), metadata={"description": "the case's open tasks now"})
    instance_state = fields.String()
    reason = fields.String(allow_none=True)


def moved_view(moved: moves.Moved) -> dict:
    """The answer of a committed move (its rows were read inside its transaction: plain values)."""
    task, reopened, *rest = summary.task_views([moved.task, moved.reopened, *moved.cancelled, *moved.open_tasks])
    cancelled, open_tasks = rest[:len(moved.cancelled)], rest[len(moved.cancelled):]
    return {"task": task, "reopened": reopened, "cancelled": cancelled, "next_tasks": open_tasks,
            "instance_state": moved.instance_state, "reason": moved.reason}


@blp.route("/<task_id>/send-back")
class SendBack(MethodView):
    @require()
    @blp.response(200, SendBackChoicesSchema)
    def get(self, task_id):
        """The earlier steps this task may be sent back to (退回): those completed on the path to it, oldest
        first, each with who completed it (404 for a task of another department's case)."""
        user = current_user()
        task = access.visible_task(user, task_id)
        return {"task_id": task.id, "may_send_back": work.may_send_back(task, user),
                "items": work.send_back_choices(task)}

    @require()
    @blp.arguments(SendBackSchema)
    @blp.response(200, TaskMoveSchema)
    def post(self, body, task_id):
        """退回: send the case back from this open task to an earlier step, with a reason. The clerk who claimed
        the task, or a supervisor of its department; the step reopens at its post for the clerk who completed it
        (if they still hold the post), and shows the reason (`returned`). 409 when the task is not open, the case
        not running, `to` not an earlier step of this case, or the engine cannot move it (a multi-instance, a
        parallel branch); 422 without a reason. The legal clock goes on."""
        user = current_user()
        moved = work.send_back(access.visible_task(user, task_id), user, body["to"], body["reason"].strip())
        runtime.commit_all([moved.saved])
        return moved_view(moved)


@blp.route("/<task_id>/take-back")
class TakeBack(MethodView):
    @require()
    @blp.arguments(TakeBackSchema)
    @blp.response(200, TaskMoveSchema)
    def post(self, body, task_id):
        """撤回: take back one's own completed step while the tasks its completion opened are unclaimed and
        nothing else has happened to the case; they are cancelled and the step reopens for its clerk. 403 for
        anyone else; 409 once a next step is claimed (`successor_claimed`) or the case moved on."""
        user = current_user()
        reason = (body.get("reason") or "").strip() or None
        moved = work.take_back(access.visible_task(user, task_id), user, reason)
        runtime.commit_all([moved.saved])
        return moved_view(moved)


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
