"""External tasks: fetch and lock by topic, complete, fail, BPMN errors, lock extension, unlock, retries.

Races. fetchAndLock takes open rows with `FOR UPDATE SKIP LOCKED` (PostgreSQL): two workers never lock the same
task, and a fetch never waits for a writer. Every other writer of a task goes through its case as every writer of
a case does: the case row first (`runtime.lock`), then the task's row, then (complete, BPMN error) the case's
step through `runtime.save`; the row's state is checked under those locks, so a task is completed once, by the
worker holding its lock, whatever the workers race. A lock that expired returns the task to the queue: the next
fetch may lock it for another worker, and only that worker may complete it then.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from ..audit import service as audit
from ..audit.service import data_changes
from ..clock import as_utc, now
from ..definitions import service as definitions
from ..definitions.models import ProcessDefinition
from ..engine.errors import CaseFailed, TaskNotReady
from ..engine.external import UncaughtError
from ..errors import BadRequest, Conflict, NotFound
from ..extensions import db
from ..instances import runtime, wake
from ..instances.external_models import ExternalTask
from ..instances.models import ProcessInstance
from ..instances.service import case_failed
from . import variables as typed_values

MAX_TASKS = 1000  # per fetch
MAX_ASYNC_TIMEOUT_MS = 1_800_000  # Camunda's limit for asyncResponseTimeout: 30 minutes


@dataclass
class TopicRequest:
    name: str
    lock_duration: int  # ms
    variables: list[str] | None = None
    local_variables: bool = False
    business_key: str | None = None
    process_definition_keys: list[str] | None = None
    process_definition_ids: list[str] | None = None
    process_instance_variables: dict[str, Any] = field(default_factory=dict)  # equality filters on case data
    include_extension_properties: bool = False


# -- fetch and lock -----------------------------------------------------------------------------------------------
def fetch_and_lock(worker_id: str, max_tasks: int, use_priority: bool, topics: list[TopicRequest],
                   timeout_ms: int = 0) -> list[dict]:
    """Lock up to `max_tasks` open tasks of the topics for the worker; with `timeout_ms`, wait up to that long
    for one (long polling) without holding a transaction: woken by new tasks or released locks (wake.py)."""
    deadline = time.monotonic() + timeout_ms / 1000
    if timeout_ms > 0:
        wake.listen()
    signal = wake.wakeup()
    while True:
        seen = signal.generation
        found, next_free = _fetch_once(worker_id, max_tasks, use_priority, topics)
        remaining = deadline - time.monotonic()
        if found or remaining <= 0:
            return found
        nap = min(remaining, wake.MAX_NAP)
        if next_free is not None:  # a lock expires before then: look again at that moment
            nap = min(nap, max(0.01, (next_free - now()).total_seconds()))
        signal.wait(seen, nap)


def _fetch_once(worker_id: str, max_tasks: int, use_priority: bool,
                topics: list[TopicRequest]) -> tuple[list[dict], datetime | None]:
    at = now()
    et = ExternalTask
    try:
        matching = sa.or_(*(_topic_condition(topic) for topic in topics))
        open_rows = [et.state == "open", sa.or_(et.retries.is_(None), et.retries > 0), matching]
        free = sa.or_(et.lock_expiration.is_(None), et.lock_expiration <= at)
        query = (sa.select(et).join(ProcessInstance, ProcessInstance.id == et.instance_id)
                 .where(*open_rows, free, ProcessInstance.state == "running")
                 .order_by(*((et.priority.desc(),) if use_priority else ()), et.created_at, et.id))
        filtered = any(t.process_instance_variables for t in topics)
        query = query.limit(min(max_tasks * 20, MAX_TASKS) if filtered else max_tasks)
        if db.engine.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True, of=et)
        rows = list(db.session.scalars(query))
        data = _case_data([r.instance_id for r in rows]) if rows else {}
        chosen: list[tuple[ExternalTask, TopicRequest]] = []
        for row in rows:
            topic = next((t for t in topics if _matches(t, row, data.get(row.instance_id, {}))), None)
            if topic is not None:
                chosen.append((row, topic))
            if len(chosen) >= max_tasks:
                break
        for row, topic in chosen:
            row.worker_id = worker_id
            row.lock_expiration = at + timedelta(milliseconds=topic.lock_duration)
        db.session.flush()
        versions = _versions({row.definition_id for row, _ in chosen})
        result = [_locked_dto(row, topic, data.get(row.instance_id, {}), versions) for row, topic in chosen]
        next_free = None
        if not result:
            next_free = db.session.scalar(sa.select(sa.func.min(et.lock_expiration)).where(
                *open_rows, et.lock_expiration > at))
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return result, as_utc(next_free)


def _topic_condition(topic: TopicRequest) -> sa.ColumnElement:
    et = ExternalTask
    conditions = [et.topic == topic.name]
    if topic.business_key is not None:
        conditions.append(et.business_key == topic.business_key)
    if topic.process_definition_keys is not None:
        conditions.append(et.process_key.in_(topic.process_definition_keys))
    if topic.process_definition_ids is not None:
        ids = [_definition_id(text) for text in topic.process_definition_ids]
        conditions.append(et.definition_id.in_([i for i in ids if i is not None]))
    return sa.and_(*conditions)


def _definition_id(text: str) -> int | None:
    """Our processDefinitionId is Camunda-shaped, `key:version:id`; the id (or the whole text) is the row's id."""
    last = str(text).rsplit(":", 1)[-1]
    return int(last) if last.isdigit() else None


def _matches(topic: TopicRequest, row: ExternalTask, data: dict) -> bool:
    if row.topic != topic.name:
        return False
    if topic.business_key is not None and row.business_key != topic.business_key:
        return False
    if topic.process_definition_keys is not None and row.process_key not in topic.process_definition_keys:
        return False
    return all(name in data and data[name] == value for name, value in topic.process_instance_variables.items())


def _case_data(instance_ids: list[str]) -> dict[str, dict]:
    return dict(db.session.execute(sa.select(ProcessInstance.id, ProcessInstance.data)
                                   .where(ProcessInstance.id.in_(set(instance_ids)))).all())


def _versions(definition_ids: set[int]) -> dict[int, int]:
    if not definition_ids:
        return {}
    return dict(db.session.execute(sa.select(ProcessDefinition.id, ProcessDefinition.version)
                                   .where(ProcessDefinition.id.in_(definition_ids))).all())


# -- Camunda's shapes ---------------------------------------------------------------------------------------------
def dto(row: ExternalTask, version: int | None = None) -> dict:
    """Camunda's ExternalTaskDto."""
    if version is None:
        version = db.session.scalar(sa.select(ProcessDefinition.version).where(
            ProcessDefinition.id == row.definition_id))
    instance_state = db.session.scalar(sa.select(ProcessInstance.state).where(
        ProcessInstance.id == row.instance_id)) if row.state == "open" else None
    return _base_dto(row, version, suspended=instance_state == "suspended")


def _base_dto(row: ExternalTask, version: int | None, suspended: bool = False) -> dict:
    return {
        "id": row.id, "topicName": row.topic, "workerId": row.worker_id,
        "lockExpirationTime": typed_values.camunda_time(row.lock_expiration),
        "activityId": row.element_id, "activityInstanceId": f"{row.element_id}:{row.id}", "executionId": row.id,
        "processInstanceId": row.instance_id, "processDefinitionId": f"{row.process_key}:{version}:{row.definition_id}",
        "processDefinitionKey": row.process_key, "processDefinitionVersionTag": None, "tenantId": None,
        "retries": row.retries, "errorMessage": row.error_message, "priority": row.priority,
        "businessKey": row.business_key, "suspended": suspended,
        # beyond Camunda's: the step's name, and whether the task still waits
        "activityName": row.name, "state": row.state, "createTime": typed_values.camunda_time(row.created_at),
    }


def _locked_dto(row: ExternalTask, topic: TopicRequest, data: dict, versions: dict[int, int]) -> dict:
    result = _base_dto(row, versions.get(row.definition_id))
    result["errorDetails"] = row.error_details
    # a service task has no local variables of its own here: localVariables=true asks for those only
    scope = {**data, **(row.local_variables or {})}
    local = {**(row.local_variables or {}), **_input_parameters(row, scope)}
    # Camunda's scopes: the task's own (a multi-instance's item, input parameters) over the case's;
    # localVariables asks for the task's own only
    visible = local if topic.local_variables else {**data, **local}
    result["variables"] = typed_values.typed_all(visible, topic.variables)
    if topic.include_extension_properties:
        result["extensionProperties"] = definitions.compiled_by_id(row.definition_id).element_properties(
            row.element_id)
    return result


def _input_parameters(row: ExternalTask, scope: dict) -> dict:
    """The task's input parameters (camunda:inputParameter) over the data it sees, as the worker sees them."""
    process = definitions.compiled_by_id(row.definition_id)
    for spec in [process.spec, *(s for s in process.subprocess_specs.values() if s is not None)]:
        for task_spec in spec.task_specs.values():
            info = getattr(task_spec, "external", None)
            if info is not None and task_spec.bpmn_id == row.element_id:
                return info.local_variables(scope) if info.inputs else {}
    return {}


# -- a worker's answers -------------------------------------------------------------------------------------------
def get_or_404(task_id: str) -> ExternalTask:
    row = db.session.get(ExternalTask, task_id)
    if row is None:
        raise _not_found(task_id)
    return row


def _not_found(task_id: str) -> NotFound:
    return NotFound(f"外部任务 {task_id} 不存在或已结束 (External task with id {task_id} does not exist)",
                    {"external_task_id": task_id})


def _locked(task_id: str) -> tuple[ProcessInstance, ExternalTask]:
    """The task's case row, then the task's row, both locked for this transaction (the lock order of every
    writer of a case); 404 once the task is no longer open."""
    row = db.session.get(ExternalTask, task_id)
    if row is None or row.state != "open":
        raise _not_found(task_id)
    instance = runtime.lock(row.instance_id)
    query = sa.select(ExternalTask).where(ExternalTask.id == task_id).execution_options(populate_existing=True)
    if db.engine.dialect.name == "postgresql":
        query = query.with_for_update()
    row = db.session.scalar(query)
    if instance is None or row is None or row.state != "open":
        db.session.rollback()
        raise _not_found(task_id)
    return instance, row


def _check_worker(row: ExternalTask, worker_id: str, doing: str) -> None:
    if row.worker_id != worker_id:
        details = {"external_task_id": row.id, "worker_id": worker_id, "locked_by": row.worker_id}
        db.session.rollback()
        holder = f"由工作者 {row.worker_id} 锁定" if row.worker_id else "未被锁定"
        raise BadRequest(f"外部任务 {row.id} 当前{holder}，工作者 {worker_id} 不能{doing} "
                         f"(External task {row.id} cannot be {_ENGLISH[doing]} by worker '{worker_id}'. "
                         f"It is locked by worker '{row.worker_id}'.)", details, code="not_locked_by_worker")


_ENGLISH = {"完成": "completed", "报告失败": "failed", "报告 BPMN 错误": "reported with a BPMN error",
            "延长锁": "extended"}


def _check_running(instance: ProcessInstance, row: ExternalTask) -> None:
    if instance.state != "running":
        details = {"instance_id": instance.id, "state": instance.state, "external_task_id": row.id}
        db.session.rollback()
        raise Conflict("办件不在办理中（已挂起或出错），不能处理其外部任务", details)


def complete(task_id: str, worker_id: str, variables: dict, local: dict, actor: str) -> None:
    instance, row = _locked(task_id)
    _check_worker(row, worker_id, "完成")
    _check_running(instance, row)
    case = runtime.load(instance)
    before = case.data()
    try:
        case.complete_external(task_id, variables, local)
    except TaskNotReady:
        db.session.rollback()
        raise _not_found(task_id) from None
    except CaseFailed as exc:
        db.session.rollback()
        raise case_failed(exc) from None
    at = now()
    row.state, row.ended_at, row.lock_expiration = "completed", at, None
    runtime.save(instance, case, actor=actor, action="external_task.completed", task_id=task_id,
                 details={"element": row.element_id, "name": row.name, "topic": row.topic, "worker_id": worker_id,
                          "changes": data_changes(before, case.data()),
                          **({"local_variables": local} if local else {})})


def bpmn_error(task_id: str, worker_id: str, code: str, message: str | None, variables: dict, actor: str) -> str:
    """The worker's BPMN error, thrown from the task; 'caught', or 'incident' when nothing catches it."""
    instance, row = _locked(task_id)
    _check_worker(row, worker_id, "报告 BPMN 错误")
    _check_running(instance, row)
    case = runtime.load(instance)
    try:
        case.throw_external_error(task_id, code, message, variables)
    except TaskNotReady:
        db.session.rollback()
        raise _not_found(task_id) from None
    except UncaughtError:
        # Nothing in the diagram catches it: the task stops for ops (an incident) instead of silently ending.
        # The case object was not changed; it is simply not put back in the cache.
        row.retries = 0
        row.error_message = f"BPMN 错误 {code} 未被任何边界事件或事件子流程捕获" + (f"：{message}" if message else "")
        row.error_details = None
        row.lock_expiration = None
        audit.record("external_task.bpmn_error_uncaught", actor=actor, instance_id=instance.id, task_id=task_id,
                     element_id=row.element_id, details={"error_code": code, "error_message": message,
                                                         "worker_id": worker_id, "topic": row.topic})
        db.session.commit()
        return "incident"
    except CaseFailed as exc:
        db.session.rollback()
        raise case_failed(exc) from None
    at = now()
    row.state, row.ended_at, row.lock_expiration = "error", at, None
    row.error_message = message
    runtime.save(instance, case, actor=actor, action="external_task.bpmn_error", task_id=task_id,
                 details={"element": row.element_id, "name": row.name, "topic": row.topic, "worker_id": worker_id,
                          "error_code": code, "error_message": message, "variables": variables})
    return "caught"


def failure(task_id: str, worker_id: str, message: str | None, details: str | None, retries: int,
            retry_timeout_ms: int, actor: str) -> None:
    """A worker could not do it: `retries` left (0: an incident for ops), available again after `retry_timeout`."""
    instance, row = _locked(task_id)
    _check_worker(row, worker_id, "报告失败")
    at = now()
    row.retries = retries
    row.error_message = message
    row.error_details = details
    row.lock_expiration = at + timedelta(milliseconds=retry_timeout_ms) if retries > 0 else None
    audit.record("external_task.failed", actor=actor, instance_id=instance.id, task_id=task_id,
                 element_id=row.element_id, details={"worker_id": worker_id, "topic": row.topic,
                                                     "error_message": message, "retries": retries,
                                                     "retry_timeout_ms": retry_timeout_ms,
                                                     **({"incident": True} if retries == 0 else {})})
    if retries > 0 and retry_timeout_ms == 0:
        wake.after_commit()
    db.session.commit()


def extend_lock(task_id: str, worker_id: str, new_duration_ms: int) -> None:
    _, row = _locked(task_id)
    at = now()
    if row.worker_id != worker_id or row.lock_expiration is None or as_utc(row.lock_expiration) <= at:
        _check_worker(row, worker_id, "延长锁")
        details = {"external_task_id": row.id, "lock_expiration": typed_values.camunda_time(row.lock_expiration)}
        db.session.rollback()
        raise BadRequest(f"外部任务 {row.id} 的锁已过期，不能延长 (lock of external task {row.id} has expired)",
                         details, code="lock_expired")
    row.lock_expiration = at + timedelta(milliseconds=new_duration_ms)
    db.session.commit()


def unlock(task_id: str, actor: str) -> None:
    instance, row = _locked(task_id)
    if row.worker_id is not None or row.lock_expiration is not None:
        audit.record("external_task.unlocked", actor=actor, instance_id=instance.id, task_id=task_id,
                     element_id=row.element_id, details={"worker_id": row.worker_id})
    row.worker_id, row.lock_expiration = None, None
    wake.after_commit()
    db.session.commit()


def set_retries(task_id: str, retries: int, actor: str) -> None:
    """Ops: how many more attempts; more than 0 on a task with none left resolves its incident."""
    instance, row = _locked(task_id)
    previous = row.retries
    row.retries = retries
    if previous == 0 and retries > 0:
        row.lock_expiration = None  # due again now
        wake.after_commit()
    audit.record("external_task.retries_set", actor=actor, instance_id=instance.id, task_id=task_id,
                 element_id=row.element_id, details={"retries": retries, "previous": previous})
    db.session.commit()


# -- lists --------------------------------------------------------------------------------------------------------
SORT_KEYS = {"id": ExternalTask.id, "lockExpirationTime": ExternalTask.lock_expiration,
             "processInstanceId": ExternalTask.instance_id, "processDefinitionKey": ExternalTask.process_key,
             "taskPriority": ExternalTask.priority, "createTime": ExternalTask.created_at}


def _query(args: dict):
    et = ExternalTask
    at = now()
    query = sa.select(et)
    state = args.get("state", "open")
    if state != "all":
        query = query.where(et.state == state)
    simple = {"externalTaskId": et.id, "topicName": et.topic, "workerId": et.worker_id, "activityId": et.element_id,
              "processInstanceId": et.instance_id, "processDefinitionKey": et.process_key,
              "businessKey": et.business_key}
    for name, column in simple.items():
        if args.get(name) is not None:
            query = query.where(column == args[name])
    if args.get("processDefinitionId") is not None:
        query = query.where(et.definition_id == _definition_id(args["processDefinitionId"]))
    if args.get("processInstanceIdIn"):
        query = query.where(et.instance_id.in_(args["processInstanceIdIn"].split(",")))
    if args.get("activityIdIn"):
        query = query.where(et.element_id.in_(args["activityIdIn"].split(",")))
    locked = sa.and_(et.lock_expiration.is_not(None), et.lock_expiration > at)
    if args.get("locked"):
        query = query.where(locked)
    if args.get("notLocked"):
        query = query.where(sa.not_(locked))
    if args.get("withRetriesLeft"):
        query = query.where(sa.or_(et.retries.is_(None), et.retries > 0))
    if args.get("noRetriesLeft"):
        query = query.where(et.retries == 0)
    if args.get("priorityHigherThanOrEquals") is not None:
        query = query.where(et.priority >= args["priorityHigherThanOrEquals"])
    if args.get("priorityLowerThanOrEquals") is not None:
        query = query.where(et.priority <= args["priorityLowerThanOrEquals"])
    return query


def search(args: dict) -> list[dict]:
    column = SORT_KEYS.get(args.get("sortBy") or "createTime", ExternalTask.created_at)
    order = column.desc() if args.get("sortOrder") == "desc" else column.asc()
    query = _query(args).order_by(order, ExternalTask.id).offset(args.get("firstResult") or 0) \
        .limit(min(args.get("maxResults") or 100, MAX_TASKS))
    rows = list(db.session.scalars(query))
    versions = _versions({r.definition_id for r in rows})
    suspended = set(db.session.scalars(sa.select(ProcessInstance.id).where(
        ProcessInstance.id.in_({r.instance_id for r in rows}), ProcessInstance.state == "suspended"))) if rows else set()
    return [_base_dto(r, versions.get(r.definition_id), r.instance_id in suspended) for r in rows]


def count(args: dict) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(_query(args).subquery()))


def lock(task_id: str, worker_id: str, duration_ms: int) -> None:
    """Lock one task for the worker, unless another worker's lock still holds."""
    _, row = _locked(task_id)
    at = now()
    held = row.lock_expiration is not None and as_utc(row.lock_expiration) > at
    if held and row.worker_id != worker_id:
        details = {"external_task_id": row.id, "locked_by": row.worker_id}
        db.session.rollback()
        raise BadRequest(f"外部任务 {task_id} 已由工作者 {details['locked_by']} 锁定 (already locked)", details,
                         code="locked")
    row.worker_id, row.lock_expiration = worker_id, at + timedelta(milliseconds=duration_ms)
    db.session.commit()
