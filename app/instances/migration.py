"""Migrating running cases from one version of a definition to another (Camunda's migration model).

One service for the API and the CLI. A plan maps the source version's elements to the target's (same ids by
default, `mapping` where ids changed); each chosen case is checked and moved on its own, all or nothing:
its engine state is transformed (app/engine/migration.py), its row moves to the target version, and its
task, timer and subscription rows are rebuilt by `runtime.save`, audited as `instance.migrated`.

Rows are rebuilt with the runtime's baseline: the rows of what maps are updated here in place (an open task
keeps its id, assignee and claim; a timer its row with the new due date), then the baseline is set to the
snapshot these rows now describe, so `save` only cancels what the target no longer has and adds what it arms.
A dry run does all of it on a throwaway copy and stores nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from flask import current_app

from ..audit import service as audit
from ..clock import app_clock, now
from ..definitions import service as definitions
from ..definitions.models import DefinitionEvent, ProcessDefinition
from ..engine import migration as engine
from ..engine.case import Case, Snapshot
from ..engine.errors import CaseFailed
from ..errors import BadRequest, Conflict, Invalid
from ..extensions import db
from ..plugins import hooks
from . import external_rows, runtime
from .models import MessageSubscription, ProcessInstance, TaskCandidate, Timer, UserTask, candidate_rows

log = logging.getLogger(__name__)
MAX_INSTANCES = 10_000
DEFAULT_BATCH = 50
_TASKS, _TIMERS, _SUBSCRIPTIONS = UserTask.__table__, Timer.__table__, MessageSubscription.__table__


@dataclass
class Request:
    key: str
    from_version: int
    to_version: int
    mapping: dict[str, str] = field(default_factory=dict)
    instances: list[str] | None = None  # None: every running case of the source version
    dry_run: bool = False
    batch_size: int = DEFAULT_BATCH


def migrate(request: Request, actor: str | None) -> dict:
    """Check (dry run) or migrate the chosen cases; the answer reports each case and sums them up."""
    source = definitions.get_version_or_404(request.key, request.from_version)
    target = definitions.get_version_or_404(request.key, request.to_version)
    if source.kind != "bpmn":
        raise BadRequest("只能迁移 BPMN 流程的办件 (only BPMN definitions have cases)", {"key": request.key})
    if source.id == target.id:
        raise BadRequest("源版本与目标版本相同 (from_version equals to_version)",
                         {"from_version": request.from_version, "to_version": request.to_version})
    if target.state == "withdrawn":
        raise Conflict(f"目标版本第 {target.version} 版已撤回，不能迁入办件 (the target version is withdrawn)",
                       {"key": request.key, "version": target.version}, code="definition_withdrawn")
    if request.instances is not None and len(request.instances) > MAX_INSTANCES:
        raise BadRequest(f"一次最多迁移 {MAX_INSTANCES} 件 (too many instances)", {"field": "instances"})
    try:
        plan = engine.plan(definitions.compiled(source), definitions.compiled(target), request.mapping)
    except engine.PlanError as exc:
        raise Invalid(exc.message, {"key": request.key, **exc.details}, code="invalid_migration") from None
    ids = request.instances if request.instances is not None else _running_ids(source.id)
    items = []
    batch = max(1, min(request.batch_size or DEFAULT_BATCH, 1000))
    for start in range(0, len(ids), batch):
        chunk = list(dict.fromkeys(ids[start:start + batch]))
        rows = {r.id: r for r in db.session.scalars(sa.select(ProcessInstance).where(ProcessInstance.id.in_(chunk)))}
        for instance_id in chunk:
            items.append(_one(rows.get(instance_id), instance_id, source, target, plan, request, actor))
        db.session.expire_all()  # the next batch reads fresh rows; this one's are written or untouched
    summary = {outcome: sum(1 for i in items if i["outcome"] == outcome)
               for outcome in ("migrated", "would_migrate", "refused", "skipped")}
    if not request.dry_run and summary["migrated"]:
        _history(request, source, target, summary, actor)
    return {"key": request.key, "from_version": source.version, "to_version": target.version,
            "dry_run": request.dry_run, "mapping": dict(request.mapping), "suggested_mapping": plan.suggested,
            "summary": summary, "items": items}


def _history(request: Request, source, target, summary: dict, actor: str | None) -> None:
    """The definition's history says that cases moved (each case's own trail has `instance.migrated`)."""
    details = {"from_version": source.version, "to_version": target.version, "mapping": dict(request.mapping),
               "migrated": summary["migrated"], "refused": summary["refused"], "skipped": summary["skipped"]}
    db.session.add(DefinitionEvent(key=request.key, version=target.version, action="migrated", actor=actor,
                                   at=now(), details=details))
    audit.record("definition.migrated", actor=actor, element_id=request.key, details=details)
    db.session.commit()
    log.info("migrated %d case(s) of %s v%s → v%s", summary["migrated"], request.key, source.version,
             target.version, extra={"definition": request.key, "actor": actor})


def _running_ids(definition_id: int) -> list[str]:
    return list(db.session.scalars(
        sa.select(ProcessInstance.id).where(ProcessInstance.definition_id == definition_id,
                                            ProcessInstance.state == "running",
                                            ProcessInstance.started_by != _timer_start_actor())
        .order_by(ProcessInstance.started_at, ProcessInstance.id)))


def _timer_start_actor() -> str:
    from .service import TIMER_START_ACTOR

    return TIMER_START_ACTOR


def _item(instance_id: str, instance: ProcessInstance | None, outcome: str, reasons=(), report=None) -> dict:
    return {"instance_id": instance_id, "business_key": instance.business_key if instance is not None else None,
            "outcome": outcome, "reasons": list(reasons),
            "elements": report.elements if report is not None else [],
            "timers": [_timer(t) for t in report.timers] if report is not None else []}


def _timer(entry: dict) -> dict:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in entry.items()}


def _one(instance, instance_id: str, source: ProcessDefinition, target: ProcessDefinition, plan, request: Request,
         actor: str | None) -> dict:
    if instance is None:
        return _item(instance_id, None, "skipped", ["办件不存在 (no such case)"])
    if instance.definition_id != source.id:
        return _item(instance_id, instance, "skipped", [f"办件不在 {source.key} 第 {source.version} 版上 "
                                                        f"(the case runs another definition or version)"])
    if instance.state != "running":
        return _item(instance_id, instance, "skipped", [f"办件状态为 {instance.state}，只迁移运行中的办件 "
                                                        f"(only running cases are migrated)"])
    if instance.started_by == _timer_start_actor():
        return _item(instance_id, instance, "skipped", ["定时启动的占位办件随版本部署与撤回处理 "
                                                        "(a timer start event is armed per version)"])
    clock = app_clock(current_app._get_current_object())
    try:
        # Always a fresh copy of the stored state: the cached live case stays as it is until this one commits.
        case = Case.load(plan.source, instance.engine_state, clock,
                         resolver=definitions.CallResolver(instance.definition_id))
        rows_now = case.snapshot()
        moved, report = engine.migrate(case, plan, clock, definitions.CallResolver(target.id), target.version)
    except engine.MigrationRefused as exc:
        return _item(instance_id, instance, "refused", exc.reasons)
    except CaseFailed as exc:
        return _item(instance_id, instance, "refused", [f"办件无法加载或迁移：{exc.message} (engine error)"])
    except Exception as exc:  # one case's surprise must not lose the report of the cases already moved
        log.exception("case %s: migration to %s v%s failed", instance_id, target.key, target.version)
        return _item(instance_id, instance, "refused", [f"迁移出错：{type(exc).__name__}: {exc} (unexpected error)"])
    if request.dry_run:
        return _item(instance_id, instance, "would_migrate", report=report)
    try:
        _save(instance, moved, rows_now, source, target, plan, report, actor)
    except Conflict:
        return _item(instance_id, instance, "refused", ["办件在迁移时被他人同时处理，请重试 (concurrent update)"])
    except Exception as exc:  # runtime.save rolled the case back: nothing of it was written
        log.exception("case %s: saving its migration failed", instance_id)
        return _item(instance_id, instance, "refused", [f"迁移保存失败：{type(exc).__name__}: {exc} (not saved)"])
    return _item(instance_id, instance, "migrated", report=report)


def _save(instance: ProcessInstance, case: Case, before: Snapshot, source, target, plan, report, actor) -> None:
    """Move the row to the target version and rebuild its rows, in one transaction (runtime.save commits)."""
    at = now()
    runtime._cache().take(instance.id, instance.version)  # the source's live case must never be served again
    after = case.snapshot()
    case.baseline = _rows_now(instance, before, after, at)
    case.baseline.external_tasks = external_rows.migrated(instance.id, target.id, before, after)
    instance.definition_id = target.id
    details = {"from_version": source.version, "to_version": target.version, "from_definition_id": source.id,
               "to_definition_id": target.id, "mapping": dict(plan.mapping),
               "elements": report.elements, "timers": [_timer(t) for t in report.timers]}
    runtime.save(instance, case, actor=actor, action="instance.migrated", details=details)


def _rows_now(instance: ProcessInstance, before: Snapshot, after: Snapshot, at: datetime) -> Snapshot:
    """Update in place the rows of what maps; return the snapshot the rows then describe (the new baseline).

    What maps is described as it is now (so `save` leaves it); what the target dropped as it was (so `save`
    cancels it); what the target arms is not in it (so `save` adds it).
    """
    conn = db.session.connection()
    old_tasks = {t.id: t for t in before.user_tasks}
    due = _boundary_due(after)
    moved = []
    for task in after.user_tasks:
        old = old_tasks.get(task.id)
        if old is None:
            continue
        values: dict = {}
        if (old.element_id, old.name, old.form_key) != (task.element_id, task.name, task.form_key):
            values.update(element_id=task.element_id, name=task.name, form_key=task.form_key)
        if old.post != task.post:  # a step that moved to another post: the claim stays, the lists follow the post
            values.update(home_post=task.post, post=task.post)
        if _boundary_due(before).get(old.element_id) != due.get(task.element_id):
            values.update(due_at=due.get(task.element_id))
        if values:
            moved.append({"id": task.id, "element_id": task.element_id, "home_post": task.post, "values": values})
        if (old.post, old.other_posts) != (task.post, task.other_posts):  # the further candidate posts follow
            candidates = TaskCandidate.__table__
            conn.execute(candidates.delete().where(candidates.c.task_id == task.id))
            others = candidate_rows(task.id, task.post, task.other_posts)
            if others:
                conn.execute(candidates.insert(), others)
    if moved:
        hooks().tasks_migrated(instance=instance, rows=moved, at=at)  # AB routing, supervision's watch
        for row in moved:
            task_values = {k: v for k, v in row["values"].items() if k in _TASKS.c}
            conn.execute(_TASKS.update().where(_TASKS.c.id == row["id"], _TASKS.c.state == "open").values(**task_values))
    old_timers = {t.task_id: t for t in before.timers}
    for timer in after.timers:
        old = old_timers.get(timer.task_id)
        if old is not None and (old.element_id, old.name, old.kind, old.due_at) != \
                (timer.element_id, timer.name, timer.kind, timer.due_at):
            conn.execute(_TIMERS.update().where(_TIMERS.c.instance_id == instance.id,
                                                _TIMERS.c.task_id == timer.task_id, _TIMERS.c.state == "waiting")
                         .values(element_id=timer.element_id, name=timer.name, kind=timer.kind, due_at=timer.due_at))
    old_messages = {m.task_id: m for m in before.messages}
    for message in after.messages:
        old = old_messages.get(message.task_id)
        if old is not None and (old.element_id, old.name, old.kind) != (message.element_id, message.name, message.kind):
            conn.execute(_SUBSCRIPTIONS.update().where(_SUBSCRIPTIONS.c.instance_id == instance.id,
                                                       _SUBSCRIPTIONS.c.task_id == message.task_id)
                         .values(element_id=message.element_id, name=message.name, kind=message.kind))
    return Snapshot(
        state=before.state, data=before.data,
        user_tasks=_kept(after.user_tasks, before.user_tasks, lambda t: t.id),
        timers=_kept(after.timers, before.timers, lambda t: t.task_id),
        messages=_kept(after.messages, before.messages, lambda m: m.task_id))


def _kept(after: list, before: list, key) -> list:
    was = {key(item) for item in before}
    now_ids = {key(item) for item in after}
    return [item for item in after if key(item) in was] + [item for item in before if key(item) not in now_ids]


def _boundary_due(snap: Snapshot) -> dict[str, datetime]:
    due: dict[str, datetime] = {}
    for timer in snap.timers:
        if timer.attached_to and (timer.attached_to not in due or timer.due_at < due[timer.attached_to]):
            due[timer.attached_to] = timer.due_at
    return due
