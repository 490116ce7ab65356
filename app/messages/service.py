"""Messages and signals: to the cases waiting for them, or starting the processes that begin with them.

- A message goes to the cases waiting for its name (correlated by business key or case id), all of them in one
  transaction; when none waits, it starts a case of each process whose start event waits for it (latest
  version); when nothing does either, it is refused (404): an undeliverable message is never silently kept.
- A signal is broadcast: every case waiting for it catches it, and every signal-start process starts a case.
- A case that throws a message or signal (a throw event, an end event, a send task) reaches other cases the
  same way once its own step has committed: by declared correlation keys, within the thrower's conversation
  (the cases its messages started, and the case whose message started it), or by its business key
  (correlation.py).
"""

from __future__ import annotations

import logging
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import SignalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.util import BpmnEvent

from ..audit import service as audit
from ..definitions import service as definitions
from ..definitions.models import EventStart, ProcessDefinition
from ..engine.errors import CaseFailed
from ..errors import ApiError, Invalid, NotFound
from ..extensions import db
from ..instances import runtime
from ..instances import service as instances
from ..instances.models import ProcessInstance
from ..instances.service import case_failed
from . import correlation
from .models import MessageSubscription

log = logging.getLogger(__name__)


def deliver(name: str, *, business_key: str | None, instance_id: str | None, data: dict[str, Any],
            actor: str | None, all_matches: bool = False, scope=None, may_start=None) -> dict[str, list[str]]:
    """Deliver to the waiting cases that match, or start the processes waiting for it; 404 when neither.

    `scope`: the condition of the cases the caller may see (people.access.case_scope). Another department's
    waiting case answers 404 like a case that waits for nothing, and is never answered by a new case either.
    `may_start(definition)`: whether the caller may start a process waiting for the message (the hall: only the
    matters of departments they serve).
    A message that reached no case — one that waited when it was looked up had caught another message by the
    time it was locked — answers 404 too: its data was merged nowhere.
    """
    correlated = bool(business_key or instance_id or all_matches)
    targets = _waiting("message", name, business_key, instance_id, scope) if correlated else []
    if targets:
        delivered = _deliver_all(targets, "message", name, data, actor)
        if not delivered:
            raise NotFound(f"没有办件在等待消息 {name}（等待的办件已收到其他消息）",
                           {"name": name, "business_key": business_key, "instance_id": instance_id})
        return {"delivered_to": delivered, "started": []}
    if correlated and scope is not None and _waiting("message", name, business_key, instance_id):
        raise NotFound(f"没有办件在等待消息 {name}", {"name": name, "business_key": business_key,
                                                     "instance_id": instance_id})
    starts = _start_definitions("message", name)
    if may_start is not None:
        starts = [d for d in starts if may_start(d)]
    if starts:
        started = [instances.start(d, data, business_key, actor, event=_event("message", name, data))[0].id
                   for d in starts]
        return {"delivered_to": [], "started": started}
    if not correlated:
        raise Invalid("请指定 business_key 或 instance_id 来关联消息，或设置 all=true",
                      {"fields": ["business_key", "instance_id"]})
    raise NotFound(f"没有办件在等待消息 {name}，也没有以它启动的流程",
                   {"name": name, "business_key": business_key, "instance_id": instance_id})


def broadcast(name: str, data: dict[str, Any], actor: str | None) -> dict[str, list]:
    """A signal reaches every case waiting for it (each in its own transaction) and starts signal-start processes."""
    delivered, failed = [], []
    for target in _waiting("signal", name, None, None):
        try:
            delivered.extend(_deliver_all([target], "signal", name, data, actor))
        except ApiError as exc:
            failed.append({"instance_id": target, "code": exc.code, "message": exc.message})
    started = [instances.start(d, data if isinstance(data, dict) else {}, None, actor,
                               event=_event("signal", name, data))[0].id
               for d in _start_definitions("signal", name)]
    return {"delivered_to": delivered, "started": started, "failed": failed}


def route_thrown(outbox: list, source: tuple) -> None:
    """Events a case threw, after its step committed: failures are on record and never undo the thrower's step."""
    instance_id, business_key = source
    for event in outbox:
        try:
            if event.kind == "signal":
                broadcast(event.name, event.payload, None)
                continue
            if _deliver_thrown(event, instance_id, business_key):
                continue
            starts = _start_definitions("message", event.name)
            for definition in starts:  # the new case joins the thrower's conversation, in its start's transaction
                data = event.payload if isinstance(event.payload, dict) else {}
                started, saved = instances.start(definition, data, business_key, None, commit=False,
                                                 event=_event("message", event.name, event.payload,
                                                              event.correlations))
                correlation.join(started.id, instance_id)
                runtime.commit_all([saved])
            if not starts:
                audit.record("message.undelivered", actor=None, instance_id=instance_id,
                             details={"name": event.name, "kind": event.kind})
                db.session.commit()
        except (ApiError, CaseFailed) as exc:
            db.session.rollback()
            log.warning("message %s thrown by case %s could not be delivered: %s", event.name, instance_id, exc)
            audit.record("message.failed", actor=None, instance_id=instance_id,
                         details={"name": event.name, "error": getattr(exc, "message", str(exc))})
            db.session.commit()


def _deliver_thrown(event, instance_id: str, business_key: str | None) -> bool:
    """A thrown message to the cases waiting for it: by declared correlation keys, else in the thrower's
    conversation, else by its business key (correlation.py). False when none of them caught it."""
    candidates = (
        lambda: correlation.by_keys(event.name, event.correlations, instance_id),
        lambda: correlation.in_conversation(event.name, instance_id),
        lambda: [t for t in _waiting("message", event.name, business_key, None) if t != instance_id]
        if business_key else [],
    )
    for find in candidates:
        targets = find()
        if targets and _deliver_all(targets, "message", event.name, event.payload, None, event.correlations):
            return True
    return False


def _event(kind: str, name: str, payload: Any, correlations: dict | None = None) -> BpmnEvent:
    """The event a start event catches (its own definition's class is taken when it is caught: engine.case)."""
    definition = MessageEventDefinition(name) if kind == "message" else SignalEventDefinition(name)
    return BpmnEvent(definition, payload=payload, correlations=dict(correlations or {}))


def _waiting(kind: str, name: str, business_key: str | None, instance_id: str | None, scope=None) -> list[str]:
    query = (db.select(MessageSubscription.instance_id)
             .where(MessageSubscription.kind == kind, MessageSubscription.name == name).distinct())
    if scope is not None:
        query = query.join(ProcessInstance, ProcessInstance.id == MessageSubscription.instance_id).where(scope)
    if business_key:
        query = query.where(MessageSubscription.business_key == business_key)
    if instance_id:
        query = query.where(MessageSubscription.instance_id == instance_id)
    return list(db.session.scalars(query.order_by(MessageSubscription.instance_id)))


def _start_definitions(kind: str, name: str) -> list[ProcessDefinition]:
    """The current version (the newest not withdrawn) of each process whose start event waits for this event."""
    keys = db.session.scalars(db.select(EventStart.process_key)
                              .where(EventStart.kind == kind, EventStart.name == name).distinct())
    result = []
    for key in sorted(keys):
        definition = definitions.current(key)
        if definition is not None and db.session.scalar(
                db.select(EventStart.id).where(EventStart.definition_id == definition.id, EventStart.kind == kind,
                                               EventStart.name == name).limit(1)) is not None:
            result.append(definition)
    return result


def _deliver_all(targets: list[str], kind: str, name: str, data: dict[str, Any], actor: str | None,
                 correlations: dict | None = None) -> list[str]:
    """Every matching case takes its step in one transaction: if one fails, none has moved."""
    delivered, saves = [], []
    for target in targets:  # locked in id order, the case rows before their subscription and task rows
        instance = runtime.lock(target)
        if instance is None or instance.state != "running":
            continue
        case = runtime.load(instance)
        try:
            caught = case.deliver_message(name, data, correlations) if kind == "message" \
                else case.deliver_signal(name, data)
        except CaseFailed as exc:
            db.session.rollback()
            raise case_failed(exc, instance, action=f"{kind}.delivered", actor=actor) from None
        if not caught:
            continue
        saves.append(runtime.save(instance, case, actor=actor, action=f"{kind}.delivered",
                                  details={"name": name, "data": data}, commit=False))
        delivered.append(target)
    runtime.commit_all(saves)
    return delivered
