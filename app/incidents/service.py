"""Incidents: what stopped a case and needs ops — a timer that failed for good, a case in error (a failed step),
a stalled case (running, but nothing can move it: no open task, no waiting timer, no awaited message), an external
task with no retries left (its worker gave up, or its BPMN error was caught by nothing), a step refused for a
reason no caller can fix (its case could not be saved, its decision is not deployed: instances/step_incidents.py).

Ids name their kind: `timer-<timer id>`, `case-<case id>`, `stalled-<case id>`, `external-<external task id>`,
`step-<incident id>`.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa

from ..audit import service as audit
from ..errors import Conflict, NotFound
from ..extensions import db
from ..external import service as external_tasks
from ..instances import step_incidents as steps
from ..instances.external_models import ExternalTask
from ..instances.models import ProcessInstance
from ..messages.models import MessageSubscription
from ..tasks.models import UserTask
from ..timers import service as timers
from ..timers.models import Timer

log = logging.getLogger(__name__)
KINDS = ("timer", "failed_step", "stalled", "external_task", "refused_step")
_CAP = 1000  # per kind: an ops list, not an export


def _failed_timer(timer: Timer, instance: ProcessInstance | None) -> dict:
    return {"id": f"timer-{timer.id}", "kind": "timer", "instance_id": timer.instance_id,
            "process_key": instance.process_key if instance else None, "element_id": timer.element_id,
            "name": timer.name, "error": timer.last_error, "attempts": timer.attempts, "since": timer.due_at,
            "actions": ["retry", "resolve"]}


def _failed_step(instance: ProcessInstance) -> dict:
    return {"id": f"case-{instance.id}", "kind": "failed_step", "instance_id": instance.id,
            "process_key": instance.process_key, "element_id": _last_element(instance.id), "name": None,
            "error": instance.error, "attempts": None, "since": instance.updated_at, "actions": ["retry", "resolve"]}


def _stalled(instance: ProcessInstance) -> dict:
    return {"id": f"stalled-{instance.id}", "kind": "stalled", "instance_id": instance.id,
            "process_key": instance.process_key, "element_id": _last_element(instance.id), "name": None,
            "error": "办件在办理中，但没有待办任务、等待中的定时器或消息，无法继续 (stalled)", "attempts": None,
            "since": instance.updated_at, "actions": ["resolve"]}


def _external_task(task: ExternalTask) -> dict:
    return {"id": f"external-{task.id}", "kind": "external_task", "instance_id": task.instance_id,
            "process_key": task.process_key, "element_id": task.element_id, "name": task.name,
            "error": task.error_message, "attempts": None, "since": task.lock_expiration or task.created_at,
            "actions": ["retry"]}


def _failed_external_tasks():
    return sa.select(ExternalTask).where(ExternalTask.state == "open", ExternalTask.retries == 0)


def _last_element(instance_id: str) -> str | None:
    from ..audit.models import AuditEntry

    return db.session.scalar(sa.select(AuditEntry.element_id).where(
        AuditEntry.instance_id == instance_id, AuditEntry.element_id.is_not(None))
        .order_by(AuditEntry.id.desc()).limit(1))


def _stalled_query():
    pi = ProcessInstance
    nothing = [~sa.exists().where(UserTask.instance_id == pi.id, UserTask.state == "open"),
               ~sa.exists().where(Timer.instance_id == pi.id, Timer.state == "waiting"),
               ~sa.exists().where(MessageSubscription.instance_id == pi.id),
               ~sa.exists().where(ExternalTask.instance_id == pi.id, ExternalTask.state == "open")]
    return sa.select(pi).where(pi.state == "running", *nothing)


def search(kind: str | None = None, instance_id: str | None = None, scope=None) -> list[dict]:
    """Open incidents, newest first. `scope`: the condition of the cases the caller may see
    (people.access.case_scope; None: all) — an incident is shown to whoever may see its case, no one else."""
    items: list[dict] = []
    where = [scope] if scope is not None else []
    if kind in (None, "timer"):
        query = (sa.select(Timer, ProcessInstance).outerjoin(ProcessInstance, ProcessInstance.id == Timer.instance_id)
                 .where(Timer.state == "failed", *where).order_by(Timer.id.desc()).limit(_CAP))
        if instance_id:
            query = query.where(Timer.instance_id == instance_id)
        items += [_failed_timer(t, i) for t, i in db.session.execute(query)]
    if kind in (None, "failed_step"):
        has_failed_timer = sa.exists().where(Timer.instance_id == ProcessInstance.id, Timer.state == "failed")
        query = (sa.select(ProcessInstance).where(ProcessInstance.state == "error", ~has_failed_timer, *where)
                 .order_by(ProcessInstance.updated_at.desc()).limit(_CAP))
        if instance_id:
            query = query.where(ProcessInstance.id == instance_id)
        items += [_failed_step(i) for i in db.session.scalars(query)]
    if kind in (None, "stalled"):
        query = _stalled_query().where(*where).order_by(ProcessInstance.updated_at.desc()).limit(_CAP)
        if instance_id:
            query = query.where(ProcessInstance.id == instance_id)
        items += [_stalled(i) for i in db.session.scalars(query)]
    if kind in (None, "external_task"):
        query = _failed_external_tasks().order_by(ExternalTask.created_at.desc()).limit(_CAP)
        if instance_id:
            query = query.where(ExternalTask.instance_id == instance_id)
        if scope is not None:
            query = query.where(ExternalTask.instance_id.in_(sa.select(ProcessInstance.id).where(scope)))
        items += [_external_task(t) for t in db.session.scalars(query)]
    if kind in (None, "refused_step"):
        items += steps.search(instance_id, _CAP, scope)
    return sorted(items, key=lambda i: i["since"], reverse=True)


def _parse(incident_id: str) -> tuple[str, str]:
    kind, _, ref = incident_id.partition("-")
    if kind not in ("timer", "case", "stalled", "external", "step") or not ref:
        raise NotFound(f"事件 {incident_id} 不存在", {"incident_id": incident_id})
    return kind, ref


def get_or_404(incident_id: str, scope=None) -> dict:
    """One open incident; 404 also for one whose case the caller may not see (`scope`, as in `search`)."""
    kind, ref = _parse(incident_id)
    if kind == "timer":
        timer = db.session.get(Timer, int(ref)) if ref.isascii() and ref.isdigit() and len(ref) < 19 else None
        if timer is not None and timer.state == "failed":
            instance = db.session.get(ProcessInstance, timer.instance_id)
            if scope is None or db.session.scalar(sa.select(ProcessInstance.id).where(
                    ProcessInstance.id == timer.instance_id, scope)) is not None:
                return _failed_timer(timer, instance)
    elif kind == "external":
        task = db.session.scalar(_failed_external_tasks().where(ExternalTask.id == ref))
        if task is not None and (scope is None or db.session.scalar(sa.select(ProcessInstance.id).where(
                ProcessInstance.id == task.instance_id, scope)) is not None):
            return _external_task(task)
    elif kind == "step":
        row = steps.get_open(ref)
        if row is not None and (scope is None or row.instance_id is None or db.session.scalar(
                sa.select(ProcessInstance.id).where(ProcessInstance.id == row.instance_id, scope)) is not None):
            return steps.as_incident(row)
    else:
        found = search("failed_step" if kind == "case" else "stalled", instance_id=ref, scope=scope)
        if found:
            return found[0]
    raise NotFound(f"事件 {incident_id} 不存在或已处理", {"incident_id": incident_id})


def retry(incident_id: str, actor: str | None) -> dict:
    """Run it again: a failed timer gets three more attempts; a case in error goes back to running."""
    incident = get_or_404(incident_id)
    if incident["kind"] == "stalled":
        raise Conflict("停滞的办件无法重试，请人工处理（resolve 将撤销该办件）", {"incident_id": incident_id})
    if incident["kind"] == "refused_step":
        raise Conflict("被拒绝的步骤无法由运维重试：排除原因（如部署缺少的决策）后由原操作人再次办理，或 resolve 结案",
                       {"incident_id": incident_id, "code": incident.get("code")})
    if incident["kind"] == "timer":
        timers.retry(db.session.get(Timer, int(incident_id.split("-", 1)[1])), actor)
    elif incident["kind"] == "external_task":  # one more attempt for its workers, due now
        external_tasks.set_retries(incident_id.split("-", 1)[1], 1, actor)
    else:
        instance = db.session.get(ProcessInstance, incident["instance_id"])
        instance.state, instance.error = "running", None
        audit.record("incident.retried", actor=actor, instance_id=instance.id, details={"incident": incident_id})
        db.session.commit()
    log.info("incident %s retried", incident_id, extra={"case_id": incident["instance_id"], "incident": incident_id})
    return {**incident, "status": "retried"}


def resolve(incident_id: str, actor: str | None, note: str | None) -> dict:
    """Close it without running it again (ops dealt with it): a failed timer is marked resolved and not fired;
    a case in error goes back to running; a stalled case, which nothing can move, is cancelled; a refused step is
    closed (its case stays as it is)."""
    from ..instances import service as instances

    incident = get_or_404(incident_id)
    if incident["kind"] == "external_task":
        raise Conflict("外部任务的事件只能重试（再给工作者一次机会），或通过办件修改将办件移到其他步骤",
                       {"incident_id": incident_id})
    instance = db.session.get(ProcessInstance, incident["instance_id"]) if incident["instance_id"] else None
    if incident["kind"] == "timer":
        timer = db.session.get(Timer, int(incident_id.split("-", 1)[1]))
        timer.state = "resolved"
        still_failed = db.session.scalar(sa.select(sa.func.count()).select_from(Timer).where(
            Timer.instance_id == timer.instance_id, Timer.state == "failed", Timer.id != timer.id))
        if instance is not None and instance.state == "error" and not still_failed:
            instance.state, instance.error = "running", None
    elif incident["kind"] == "failed_step":
        instance.state, instance.error = "running", None
    elif incident["kind"] == "refused_step":
        steps.resolve(steps.get_open(incident_id.split("-", 1)[1]), actor, note)
    else:
        instances.cancel(instance, actor, note or "停滞办件，由运维人工结案")
    audit.record("incident.resolved", actor=actor, instance_id=incident["instance_id"],
                 element_id=incident["element_id"], details={"incident": incident_id, "note": note})
    db.session.commit()
    log.info("incident %s resolved", incident_id, extra={"case_id": incident["instance_id"], "incident": incident_id})
    return {**incident, "status": "resolved"}
