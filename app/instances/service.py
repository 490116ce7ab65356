"""Starting, reading, listing and cancelling cases."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

from flask import current_app
from sqlalchemy.orm import defer

from ..audit import service as audit
from ..clock import app_clock, now
from ..definitions import service as definitions
from ..definitions.models import ProcessDefinition
from ..engine.budget import LimitExceeded
from ..engine.case import Case
from ..engine.errors import CaseFailed
from ..errors import Conflict, Invalid, NotFound
from ..extensions import db
from ..models_base import paged, row_dict
from ..plugins import hooks
from . import limits, runtime, step_incidents
from .hooks import StartContext
from .models import MessageSubscription, ProcessInstance, Timer, UserTask

log = logging.getLogger(__name__)


def case_failed(exc: CaseFailed, instance: ProcessInstance | None = None, *, process_key: str | None = None,
                action: str = "", actor: str | None = None) -> Invalid:
    """The 422 of a step the engine refused (after the caller's rollback); a run past the engine's limits may be an
    incident (limits.py), and a reason no caller can fix (a decision not deployed, a state that cannot be stored)
    is kept as an incident for ops (step_incidents.py)."""
    if isinstance(exc, LimitExceeded):
        return limits.refused(exc)
    if step_incidents.is_incident(exc):
        return step_incidents.record(exc, instance_id=instance.id if instance is not None else None,
                                     case_version=instance.version if instance is not None else None,
                                     process_key=instance.process_key if instance is not None else process_key,
                                     action=action, actor=actor)
    return Invalid(f"流程执行出错: {exc.message}", {"element": exc.element}, code="case_failed")


def start(definition: ProcessDefinition, data: dict[str, Any], business_key: str | None,
          actor: str | None, event=None, commit: bool = True,
          applicant: dict[str, Any] | None = None, start_cycle: dict | None = None,
          answer: Callable[[str], dict[str, Any]] | None = None) -> tuple[ProcessInstance, runtime.Saved]:
    """Start a case; with `event` (a message or signal), its start event catches it first.

    Plugins check and prepare it first (`case_starting`: the hall validates the `applicant`, refuses a matter not
    offered or a second open case of a business key); the answer carries what they add (a query code).
    `answer(case id)` reads what the caller answers with inside the step's transaction (in `saved.extra`).
    """
    if definition.kind != "bpmn":
        raise Invalid("决策表不能启动办件 (a DMN decision cannot be started)", {"key": definition.key})
    process = definitions.compiled(definition)
    if process.initiator is not None:  # who starts it (none for a timer), never what the request claims
        data = {**data, process.initiator: None if actor == TIMER_START_ACTOR else actor}
    context = StartContext(definition.id, definition.key, definition.version, process, data, business_key, actor,
                           applicant=applicant)
    hooks().case_starting(start=context)  # 409/422 before anything runs
    definitions.ensure_startable(definition)  # 409: suspended or withdrawn
    try:
        case = Case.start(process, data, app_clock(current_app._get_current_object()),
                          resolver=definitions.CallResolver(definition.id), event=event,
                          limits=runtime.sandbox_limits(), working_days=runtime.working_days,
                          engine_limits=limits.engine_limits(), start_cycle=start_cycle)
    except CaseFailed as exc:
        raise case_failed(exc, process_key=definition.key, action="instance.started", actor=actor) from None
    at = now()
    instance = ProcessInstance(id=uuid.uuid4().hex, definition_id=definition.id, process_key=definition.key,
                               business_key=business_key, state="running", data={}, engine_state="",
                               started_by=actor, started_at=at, updated_at=at,
                               department_code=context.department_code)
    version = definition.version
    saved = runtime.save(instance, case, actor=actor, action="instance.started",
                         details={"data": data, "business_key": business_key, "version": version,
                                  **({"applicant": context.applicant} if context.applicant else {})},
                         before_commit=lambda: {**row_dict(instance, exclude=("engine_state",)),
                                                "definition_version": version,
                                                **(answer(instance.id) if answer is not None else {})},
                         commit=commit, start=context)
    return instance, saved


def get_or_404(instance_id: str) -> ProcessInstance:
    instance = db.session.get(ProcessInstance, instance_id)
    if instance is None:
        raise NotFound(f"办件 {instance_id} 不存在", {"instance_id": instance_id})
    return instance


def open_tasks(instance_id: str) -> list[UserTask]:
    return list(db.session.scalars(db.select(UserTask).where(
        UserTask.instance_id == instance_id, UserTask.state == "open").order_by(UserTask.created_at)))


def waiting_timers(instance_id: str) -> list[Timer]:
    return list(db.session.scalars(db.select(Timer).where(
        Timer.instance_id == instance_id, Timer.state == "waiting").order_by(Timer.due_at)))


def waiting_messages(instance_id: str) -> list[MessageSubscription]:
    return list(db.session.scalars(db.select(MessageSubscription).where(
        MessageSubscription.instance_id == instance_id)))


def search(*, key: str | None = None, state: str | None = None, business_key: str | None = None,
           started_by: str | None = None, scope=None, where: tuple = (), limit: int = 50, offset: int = 0,
           summary: bool = False):
    """`scope`: the condition of the cases the caller may see (people.access.case_scope), None for all; `where`:
    further conditions on ProcessInstance (a plugin's: the hall's case number, owner). The engine state is never
    read for a list; with `summary`, nor is the case data."""
    query = db.select(ProcessInstance) if scope is None else db.select(ProcessInstance).where(scope)
    query = query.options(defer(ProcessInstance.engine_state), *([defer(ProcessInstance.data)] if summary else []))
    query = query.where(*where)
    if key:
        query = query.where(ProcessInstance.process_key == key)
    if state:
        query = query.where(ProcessInstance.state == state)
    if business_key:
        query = query.where(ProcessInstance.business_key == business_key)
    if started_by:
        query = query.where(ProcessInstance.started_by == started_by)
    return paged(query, ProcessInstance.started_at.desc(), ProcessInstance.id, limit=limit, offset=offset)


def cancel(instance: ProcessInstance, actor: str | None, reason: str | None,
           action: str = "instance.cancelled") -> ProcessInstance:
    """End a running case: its open tasks and timers end too. `action` names the act in the audit trail (and for
    plugins: the hall's 撤件 is `instance.withdrawn`)."""
    runtime.lock(instance.id)  # refreshes `instance`: the state checked is the one this transaction writes over
    if instance.state in ("completed", "cancelled"):
        raise Conflict(f"办件已{'办结' if instance.state == 'completed' else '撤销'}，不能撤销",
                       {"instance_id": instance.id, "state": instance.state})
    case = runtime.load(instance)
    case.cancel()
    instance.state = "cancelled"
    runtime.save(instance, case, actor=actor, action=action, details={"reason": reason})
    return instance


TIMER_START_ACTOR = "timer-start"


def arm_timer_starts(deployed: list[tuple[ProcessDefinition, bool]]) -> list[ProcessInstance]:
    """A new version whose process starts on a timer gets a case waiting on that timer.

    The cases of older versions that are still waiting on their start timer are cancelled, so a hot
    deployment neither loses the start timer nor fires it twice.
    """
    armed = []
    for definition, created in deployed:
        if not (created and definition.timer_start and definition.kind == "bpmn"):
            continue
        waiting = db.session.scalars(
            db.select(ProcessInstance).join(Timer, Timer.instance_id == ProcessInstance.id)
            .where(ProcessInstance.process_key == definition.key,
                   ProcessInstance.state.in_(("running", "suspended")),  # suspended: with its version (ops)
                   ProcessInstance.definition_id != definition.id, ProcessInstance.started_by == TIMER_START_ACTOR,
                   Timer.kind == "start", Timer.state == "waiting")).unique().all()
        try:
            for old in waiting:
                cancel(old, TIMER_START_ACTOR, f"新版本 v{definition.version} 已部署，由其定时启动")
            instance, _ = start(definition, {}, None, TIMER_START_ACTOR)
        except Exception as exc:  # the deployment itself stands; the failure is on record for ops
            db.session.rollback()
            log.exception("arming the start timer of %s v%s failed", definition.key, definition.version)
            audit.record("definition.timer_start_failed", actor=TIMER_START_ACTOR, element_id=definition.key,
                         details={"version": definition.version, "error": str(exc)})
            db.session.commit()
            continue
        armed.append(instance)
    return armed
