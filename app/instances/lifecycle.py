"""Versions as ops expect them (Camunda's model): suspend and activate a definition or one version, withdraw a
version, and the deployment history.

- Suspended: new cases are refused (409 with the reason); running cases go on, unless `include_instances`,
  which suspends them too (their timers wait, their tasks cannot be completed, messages pass them by) until
  the version is activated with `include_instances` again. A waiting timer start event is always suspended
  with its version: it would start a new case.
- Withdrawn: for good; new cases of the key use the newest version not withdrawn. A withdrawn version's timer
  start event is cancelled and the previous version's is armed again. Its running cases go on.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa

from ..audit import service as audit
from ..clock import now
from ..definitions import service
from ..definitions.models import DefinitionEvent, ProcessDefinition
from ..errors import Conflict
from ..extensions import db
from .models import ProcessInstance, Timer

log = logging.getLogger(__name__)


def _targets(key: str, version: int | None) -> list[ProcessDefinition]:
    if version is not None:
        return [service.get_version_or_404(key, version)]
    service.get_latest_or_404(key)
    return service.versions(key)


def _event(key: str, version: int | None, action: str, actor: str | None, **details) -> None:
    db.session.add(DefinitionEvent(key=key, version=version, action=action, actor=actor, at=now(), details=details))
    audit.record(f"definition.{action}", actor=actor, element_id=key, details={"version": version, **details})
    log.info("definition %s %s%s", key, action, f" v{version}" if version else "",
             extra={"definition": key, "version": version, "actor": actor})


def _timer_start_cases(definition_ids: list[int], state: str):
    """Cases of these versions that wait on their timer start event (not yet a real case)."""
    from .service import TIMER_START_ACTOR

    return (sa.select(ProcessInstance.id).join(Timer, Timer.instance_id == ProcessInstance.id)
            .where(ProcessInstance.definition_id.in_(definition_ids), ProcessInstance.state == state,
                   ProcessInstance.started_by == TIMER_START_ACTOR, Timer.kind == "start", Timer.state == "waiting"))


def _move_cases(ids_query, to_state: str, actor: str | None, reason: str | None) -> int:
    ids = list(db.session.scalars(ids_query))
    if not ids:
        return 0
    # A bulk update bumps the row version: a step that read the case before loses with 409, nothing mixed.
    db.session.execute(sa.update(ProcessInstance).where(ProcessInstance.id.in_(ids))
                       .values(state=to_state, version=ProcessInstance.version + 1, updated_at=now())
                       .execution_options(synchronize_session=False))
    action = "instance.suspended" if to_state == "suspended" else "instance.activated"
    audit.record_many([audit.entry(action, actor=actor, instance_id=i, details={"reason": reason}) for i in ids])
    return len(ids)


def suspend(key: str, version: int | None, actor: str | None, reason: str | None = None,
            include_instances: bool = False) -> dict:
    """Suspend one version, or every version of the key (`version` None): new cases are refused."""
    targets = [d for d in _targets(key, version) if d.state == "active"]
    if version is not None and not targets:
        definition = service.get_version_or_404(key, version)
        raise Conflict(f"流程定义 {key} 第 {version} 版当前为{_STATE_NAMES[definition.state]}，不能挂起",
                       {"key": key, "version": version, "state": definition.state})
    at = now()
    for definition in targets:
        definition.state, definition.state_reason = "suspended", reason
        definition.state_changed_at, definition.state_changed_by = at, actor
    ids = [d.id for d in targets]
    cases = 0
    if ids:
        cases = _move_cases(_timer_start_cases(ids, "running"), "suspended", actor, reason)
        if include_instances:
            cases += _move_cases(sa.select(ProcessInstance.id).where(ProcessInstance.definition_id.in_(ids),
                                                                     ProcessInstance.state == "running"),
                                 "suspended", actor, reason)
    _event(key, version, "suspended", actor, reason=reason, include_instances=include_instances,
           versions=[d.version for d in targets], cases=cases)
    db.session.commit()
    return {"key": key, "versions": [d.version for d in targets], "cases": cases}


def activate(key: str, version: int | None, actor: str | None, reason: str | None = None,
             include_instances: bool = False) -> dict:
    """Activate a suspended version (or every suspended version of the key); new cases start again."""
    all_targets = _targets(key, version)
    targets = [d for d in all_targets if d.state == "suspended"]
    if version is not None and not targets and all_targets[0].state == "withdrawn":
        raise Conflict(f"流程定义 {key} 第 {version} 版已撤回，不能再激活（请重新部署）",
                       {"key": key, "version": version, "state": "withdrawn"})
    at = now()
    for definition in targets:
        definition.state, definition.state_reason = "active", None
        definition.state_changed_at, definition.state_changed_by = at, actor
    ids = [d.id for d in all_targets if d.state == "active"]
    cases = 0
    if ids:
        cases = _move_cases(_timer_start_cases(ids, "suspended"), "running", actor, reason)
        if include_instances:
            cases += _move_cases(sa.select(ProcessInstance.id).where(ProcessInstance.definition_id.in_(ids),
                                                                     ProcessInstance.state == "suspended"),
                                 "running", actor, reason)
    _event(key, version, "activated", actor, reason=reason, include_instances=include_instances,
           versions=[d.version for d in targets], cases=cases)
    db.session.commit()
    return {"key": key, "versions": [d.version for d in targets], "cases": cases}


def withdraw(key: str, version: int, actor: str | None, reason: str | None = None) -> dict:
    """Withdraw a version for good: new cases use the previous one, whose timer start event is armed again."""
    from . import service as instances

    definition = service.get_version_or_404(key, version)
    if definition.state == "withdrawn":
        raise Conflict(f"流程定义 {key} 第 {version} 版已撤回", {"key": key, "version": version})
    was_current = service.current(key) is definition
    definition.state, definition.state_reason = "withdrawn", reason
    definition.state_changed_at, definition.state_changed_by = now(), actor
    db.session.flush()
    waiting = list(db.session.scalars(
        sa.select(ProcessInstance).where(ProcessInstance.id.in_(
            _timer_start_cases([definition.id], "running").union(_timer_start_cases([definition.id], "suspended"))))))
    for case in waiting:
        instances.cancel(case, instances.TIMER_START_ACTOR, f"第 {version} 版已撤回，取消其定时启动")
    previous = service.current(key) if was_current else None
    _event(key, version, "withdrawn", actor, reason=reason, cancelled_timer_starts=len(waiting),
           now_current=previous.version if previous else None)
    db.session.commit()
    armed = []
    if previous is not None and previous.timer_start and previous.state == "active":
        armed = instances.arm_timer_starts([(previous, True)])
    return {"key": key, "versions": [version], "current": previous.version if previous else None,
            "cancelled_timer_starts": len(waiting), "armed_timer_starts": len(armed)}


_STATE_NAMES = {"active": "激活", "suspended": "挂起", "withdrawn": "撤回"}


def history(key: str) -> dict:
    """Every version (who deployed it, when, changelog, checksum, state) and every lifecycle event, oldest first."""
    service.get_latest_or_404(key)
    events = list(db.session.scalars(db.select(DefinitionEvent).where(DefinitionEvent.key == key)
                                     .order_by(DefinitionEvent.id)))
    current = service.current(key)
    return {"key": key, "current": current.version if current else None,
            "versions": list(reversed(service.versions(key))), "events": events}
