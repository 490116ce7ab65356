"""Camunda 7's external task REST API under `/engine-rest` (README: "External tasks"), for the workers people
already run: Camunda's Python (`camunda-external-task-client-python3`) and JavaScript
(`camunda-external-task-client-js`) clients work against Tongban unchanged, with a worker's bearer token
(`auth_bearer` / an interceptor) or Basic auth with the username and a token as password.

Requests and answers have Camunda's shapes (typed variables, `lockExpirationTime` in Camunda's date format);
errors have Camunda's `type` and `message` beside our `code` and `details`. Fields Camunda's clients send that
Tongban has no use for (tenants, sorting, deserializeValues) are accepted and ignored.
"""

from __future__ import annotations

import base64
import binascii
import json
from functools import wraps

from flask import request
from flask.views import MethodView
from marshmallow import EXCLUDE, fields, validate

from ..errors import Unauthorized
from ..external import service
from ..external import variables as typed_values
from ..people.auth import current_user, require
from ..schemas import ApiSchema, QuerySchema
from .blueprint import Blueprint

BASE = "/engine-rest"
blp = Blueprint("external_tasks", __name__, url_prefix=f"{BASE}/external-task",
                description="外部任务（Camunda 7 external task REST API）：工作者按主题拉取、锁定、完成服务任务")

_TYPES = {400: "InvalidRequestException", 401: "AuthenticationException", 403: "AuthorizationException",
          404: "InvalidRequestException", 409: "OptimisticLockingException", 413: "InvalidRequestException",
          422: "InvalidRequestException", 500: "ProcessEngineException"}


@blp.after_request
def _camunda_error_type(response):
    """Camunda's clients read an error's `type` and `message`: every error body here carries both. A 204 has
    no body and says no content type (the JavaScript client parses any `application/json` answer)."""
    if response.status_code == 204:
        response.headers.pop("Content-Type", None)
    if response.status_code >= 400 and response.mimetype == "application/json":
        body = response.get_json(silent=True)
        if isinstance(body, dict) and "type" not in body:
            body = {"type": _TYPES.get(response.status_code, "RestException"), **body}
            response.set_data(json.dumps(body, ensure_ascii=False))
    return response


@blp.before_request
def _basic_auth():
    """Camunda's clients authenticate with Basic auth out of the box: the password is the user's API token."""
    header = request.headers.get("Authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return
    try:
        username, _, token = base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise Unauthorized("Basic 认证格式错误 (malformed Basic credentials)") from None
    request.environ["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    request.environ["tongban.basic_user"] = username


def worker_access(*roles: str):
    """`require`, and with Basic auth the username must be the token's user."""

    def decorator(view):
        checked = require(*roles)(view)

        @wraps(view)
        def wrapper(*args, **kwargs):
            claimed = request.environ.get("tongban.basic_user")
            if claimed is not None and claimed != current_user().username:
                raise Unauthorized("用户名与访问令牌不符 (username does not match the token)")
            return checked(*args, **kwargs)

        wrapper.__dict__.setdefault("_apidoc", {})["tongban_roles"] = list(roles)
        return wrapper

    return decorator


WORKER = ("worker",)
READERS = ("worker", "ops")


class Lenient(ApiSchema):
    class Meta:
        unknown = EXCLUDE  # newer clients send fields older servers ignore; Camunda ignores them too


class ExternalTopicSchema(Lenient):
    topicName = fields.String(required=True, validate=validate.Length(1, 300))
    lockDuration = fields.Integer(required=True, validate=validate.Range(min=1, max=10 ** 12))
    variables = fields.List(fields.String(), allow_none=True, load_default=None)
    localVariables = fields.Boolean(allow_none=True, load_default=False)
    businessKey = fields.String(allow_none=True, load_default=None)
    processDefinitionId = fields.String(allow_none=True, load_default=None)
    processDefinitionIdIn = fields.List(fields.String(), allow_none=True, load_default=None)
    processDefinitionKey = fields.String(allow_none=True, load_default=None)
    processDefinitionKeyIn = fields.List(fields.String(), allow_none=True, load_default=None)
    processVariables = fields.Dict(keys=fields.String(), allow_none=True, load_default=None)
    includeExtensionProperties = fields.Boolean(allow_none=True, load_default=False)
    deserializeValues = fields.Boolean(allow_none=True)
    tenantIdIn = fields.List(fields.String(), allow_none=True)
    withoutTenantId = fields.Boolean(allow_none=True)
    processDefinitionVersionTag = fields.String(allow_none=True)


class ExternalFetchSchema(Lenient):
    workerId = fields.String(required=True, validate=validate.Length(1, 255))
    maxTasks = fields.Integer(required=True, validate=validate.Range(min=0, max=service.MAX_TASKS))
    usePriority = fields.Boolean(allow_none=True, load_default=False)
    asyncResponseTimeout = fields.Integer(allow_none=True, load_default=None,
                                          validate=validate.Range(min=0, max=service.MAX_ASYNC_TIMEOUT_MS))
    topics = fields.List(fields.Nested(ExternalTopicSchema), required=True)
    sorting = fields.Raw(allow_none=True)


class ExternalCompleteSchema(Lenient):
    workerId = fields.String(required=True, validate=validate.Length(1, 255))
    variables = fields.Dict(keys=fields.String(), allow_none=True, load_default=None)
    localVariables = fields.Dict(keys=fields.String(), allow_none=True, load_default=None)


class ExternalFailureSchema(Lenient):
    workerId = fields.String(required=True, validate=validate.Length(1, 255))
    errorMessage = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=4000))
    errorDetails = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=100_000))
    retries = fields.Integer(allow_none=True, load_default=0, validate=validate.Range(min=0, max=10 ** 6))
    retryTimeout = fields.Integer(allow_none=True, load_default=0, validate=validate.Range(min=0, max=10 ** 12))
    variables = fields.Dict(allow_none=True)  # Camunda 7.21 sets variables on failure; not kept here
    localVariables = fields.Dict(allow_none=True)


class ExternalBpmnErrorSchema(Lenient):
    workerId = fields.String(required=True, validate=validate.Length(1, 255))
    errorCode = fields.String(required=True, validate=validate.Length(1, 300))
    errorMessage = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=4000))
    variables = fields.Dict(keys=fields.String(), allow_none=True, load_default=None)


class ExternalExtendLockSchema(Lenient):
    workerId = fields.String(required=True, validate=validate.Length(1, 255))
    newDuration = fields.Integer(required=True, validate=validate.Range(min=1, max=10 ** 12))


class ExternalLockSchema(Lenient):
    workerId = fields.String(required=True, validate=validate.Length(1, 255))
    lockDuration = fields.Integer(required=True, validate=validate.Range(min=1, max=10 ** 12))


class ExternalRetriesSchema(Lenient):
    retries = fields.Integer(required=True, validate=validate.Range(min=0, max=10 ** 6))


class ExternalListArgs(QuerySchema):
    externalTaskId = fields.String()
    topicName = fields.String()
    workerId = fields.String()
    activityId = fields.String()
    activityIdIn = fields.String()
    processInstanceId = fields.String()
    processInstanceIdIn = fields.String()
    processDefinitionId = fields.String()
    processDefinitionKey = fields.String()
    businessKey = fields.String()
    locked = fields.Boolean()
    notLocked = fields.Boolean()
    withRetriesLeft = fields.Boolean()
    noRetriesLeft = fields.Boolean()
    priorityHigherThanOrEquals = fields.Integer()
    priorityLowerThanOrEquals = fields.Integer()
    state = fields.String(validate=validate.OneOf(("open", "completed", "error", "cancelled", "all")),
                          metadata={"description": "Tongban's: open (default, Camunda's list), finished ones, all"})
    sortBy = fields.String(validate=validate.OneOf(tuple(service.SORT_KEYS)))
    sortOrder = fields.String(validate=validate.OneOf(("asc", "desc")))
    firstResult = fields.Integer(validate=validate.Range(min=0))
    maxResults = fields.Integer(validate=validate.Range(min=1, max=service.MAX_TASKS))


class ExternalCountArgs(ExternalListArgs):
    class Meta:
        exclude = ("sortBy", "sortOrder", "firstResult", "maxResults")


def _topics(body: dict) -> list[service.TopicRequest]:
    topics = []
    for topic in body["topics"]:
        keys = topic.get("processDefinitionKeyIn")
        if topic.get("processDefinitionKey") is not None:
            keys = [*(keys or []), topic["processDefinitionKey"]]
        ids = topic.get("processDefinitionIdIn")
        if topic.get("processDefinitionId") is not None:
            ids = [*(ids or []), topic["processDefinitionId"]]
        topics.append(service.TopicRequest(
            name=topic["topicName"], lock_duration=topic["lockDuration"], variables=topic.get("variables"),
            local_variables=bool(topic.get("localVariables")), business_key=topic.get("businessKey"),
            process_definition_keys=keys, process_definition_ids=ids,
            process_instance_variables=dict(topic.get("processVariables") or {}),
            include_extension_properties=bool(topic.get("includeExtensionProperties"))))
    return topics


def _stored(typed: dict | None, field: str) -> dict:
    """A worker's typed variables as case data; transient ones (Camunda does not keep them) left out."""
    kept = {name: value for name, value in (typed or {}).items()
            if not (isinstance(value, dict) and (value.get("valueInfo") or {}).get("transient") is True)}
    return typed_values.read(kept, field)


@blp.route("/fetchAndLock")
class FetchAndLock(MethodView):
    @worker_access(*WORKER)
    @blp.arguments(ExternalFetchSchema)
    @blp.response(200)
    def post(self, body):
        """Lock up to `maxTasks` open tasks of the topics for `workerId` (each for its topic's `lockDuration`
        ms) and return them with their case's variables; with `asyncResponseTimeout` (ms), wait that long
        for one when none is there (long polling)."""
        topics = _topics(body)
        if body["maxTasks"] == 0 or not topics:
            return []
        return service.fetch_and_lock(body["workerId"], body["maxTasks"], bool(body.get("usePriority")), topics,
                                      body.get("asyncResponseTimeout") or 0)


@blp.route("")
class ExternalTasks(MethodView):
    @worker_access(*READERS)
    @blp.arguments(ExternalListArgs, location="query")
    @blp.response(200)
    def get(self, args):
        """Open external tasks (Camunda's filters: topicName, workerId, locked, notLocked, withRetriesLeft,
        noRetriesLeft, processInstanceId, activityId...); `state` lists finished ones too."""
        return service.search(args)


@blp.route("/count")
class ExternalTaskCount(MethodView):
    @worker_access(*READERS)
    @blp.arguments(ExternalCountArgs, location="query")
    @blp.response(200)
    def get(self, args):
        """How many external tasks the filters match: `{"count": n}`."""
        return {"count": service.count(args)}


@blp.route("/<task_id>")
class ExternalTaskItem(MethodView):
    @worker_access(*READERS)
    @blp.response(200)
    def get(self, task_id):
        """One external task (open or finished)."""
        return service.dto(service.get_or_404(task_id))


@blp.route("/<task_id>/complete")
class Complete(MethodView):
    @worker_access(*WORKER)
    @blp.arguments(ExternalCompleteSchema)
    @blp.response(204)
    def post(self, body, task_id):
        """Complete a task the worker holds: `variables` reach the case's data, `localVariables` only the
        task's declared outputs; the case moves on."""
        variables = _stored(body.get("variables"), "variables")
        local = _stored(body.get("localVariables"), "localVariables")
        service.complete(task_id, body["workerId"], variables, local, current_user().username)


@blp.route("/<task_id>/failure")
class Failure(MethodView):
    @worker_access(*WORKER)
    @blp.arguments(ExternalFailureSchema)
    @blp.response(204)
    def post(self, body, task_id):
        """The worker could not do it: `retries` left (0: an incident, `GET /api/v1/incidents`), fetchable
        again after `retryTimeout` ms."""
        service.failure(task_id, body["workerId"], body.get("errorMessage"), body.get("errorDetails"),
                        body.get("retries") or 0, body.get("retryTimeout") or 0, current_user().username)


@blp.route("/<task_id>/bpmnError")
class BpmnError(MethodView):
    @worker_access(*WORKER)
    @blp.arguments(ExternalBpmnErrorSchema)
    @blp.response(204)
    def post(self, body, task_id):
        """A business error (`errorCode`): the task's error boundary event (or an enclosing one) catches it,
        with `variables`; when nothing catches it, the task becomes an incident."""
        variables = _stored(body.get("variables"), "variables")
        service.bpmn_error(task_id, body["workerId"], body["errorCode"], body.get("errorMessage"), variables,
                           current_user().username)


@blp.route("/<task_id>/extendLock")
class ExtendLock(MethodView):
    @worker_access(*WORKER)
    @blp.arguments(ExternalExtendLockSchema)
    @blp.response(204)
    def post(self, body, task_id):
        """The worker needs longer: its lock now ends `newDuration` ms from now."""
        service.extend_lock(task_id, body["workerId"], body["newDuration"])


@blp.route("/<task_id>/lock")
class Lock(MethodView):
    @worker_access(*WORKER)
    @blp.arguments(ExternalLockSchema)
    @blp.response(204)
    def post(self, body, task_id):
        """Lock this task for the worker (Camunda 7.20's `lock`): refused while another worker holds it."""
        service.lock(task_id, body["workerId"], body["lockDuration"])


@blp.route("/<task_id>/unlock")
class Unlock(MethodView):
    @worker_access(*WORKER)
    @blp.response(204)
    def post(self, task_id):
        """Release the lock: the task is fetchable again at once."""
        service.unlock(task_id, current_user().username)


@blp.route("/<task_id>/retries")
class Retries(MethodView):
    @worker_access("worker", "ops")
    @blp.arguments(ExternalRetriesSchema)
    @blp.response(204)
    def put(self, body, task_id):
        """Set the retries left; more than 0 on a task with none left resolves its incident."""
        service.set_retries(task_id, body["retries"], current_user().username)
