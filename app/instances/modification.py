"""Instance modification for ops: move a case's tokens (cancel an activity, start before another), with a dry run,
audited, refused with the element's reason where the engine cannot (see app/engine/modification.py).

`modify` is what `POST /api/v1/instances/{id}/modification` does; `move` is the one-step form the hall's 退回
(sending a case back to an earlier step, with a reason) builds on. Both go through the case lock and the normal
save path: the task, timer, subscription and external task rows follow from the case's new snapshot.
"""

from __future__ import annotations

from typing import Any

from ..engine.errors import CaseFailed
from ..engine.modification import Instruction, ModificationRefused
from ..errors import Conflict, Invalid
from ..extensions import db
from . import runtime
from .models import ProcessInstance
from .service import case_failed

MODIFIABLE = ("running", "error")  # a case in error (an incident) may be moved out of its failure


def modify(instance: ProcessInstance, instructions: list[Instruction], *, actor: str | None,
           annotation: str | None = None, dry_run: bool = False, skip_custom_listeners: bool = False,
           action: str = "instance.modified") -> dict:
    """Apply the instructions to the case (or, with `dry_run`, say what they would do and change nothing)."""
    if not instructions:
        raise Invalid("请至少给出一条修改指令 (instructions)", {"instructions": []}, code="invalid_modification")
    instance = runtime.lock(instance.id)  # the case row first, as every writer of a case
    if instance.state not in MODIFIABLE:
        details = {"instance_id": instance.id, "state": instance.state}
        db.session.rollback()
        raise Conflict(f"办件状态为 {details['state']}，不能修改（只有办理中或出错的办件可以修改）", details,
                       code="modification_refused")
    case = runtime.load(instance)
    before = case.baseline or case.snapshot()
    try:
        applied = case.modify(instructions)
    except ModificationRefused as exc:
        db.session.rollback()
        details = {"element": exc.element, "instruction": exc.index, "reason": exc.message}
        if exc.kind == "invalid":
            raise Invalid(exc.message, details, code="invalid_modification") from None
        raise Conflict(exc.message, details, code="modification_refused") from None
    except CaseFailed as exc:
        db.session.rollback()
        raise case_failed(exc) from None
    after = case.snapshot()
    starts = any(i.type == "startBeforeActivity" for i in instructions)
    if after.state == "completed" and not starts:
        db.session.rollback()
        raise Conflict("修改后办件将直接结束；如需终止办件，请撤销办件 (the case would end)",
                       {"instance_id": instance.id}, code="modification_refused")
    if after.state == "error":
        db.session.rollback()
        raise Conflict(f"修改后办件将无事可做（停在 {after.error_element or '未知元素'}），已拒绝",
                       {"instance_id": instance.id, "element": after.error_element}, code="modification_refused")
    result = {
        "instance_id": instance.id, "dry_run": dry_run, "state": after.state,
        "cancelled": applied.cancelled, "started": applied.started, "annotation": annotation,
        "tasks": [{"element_id": t.element_id, "name": t.name, "post": t.post} for t in after.user_tasks],
        "external_tasks": [{"element_id": t.element_id, "name": t.name, "topic": t.topic}
                           for t in after.external_tasks],
        "timers": [{"element_id": t.element_id, "name": t.name, "due_at": t.due_at} for t in after.timers],
        "messages": [{"element_id": m.element_id, "name": m.name} for m in after.messages],
    }
    if dry_run:
        db.session.rollback()  # the live case was taken out of the cache by load: it is simply dropped
        return result
    new_ids = {t.id for t in after.user_tasks} - {t.id for t in before.user_tasks}
    details: dict[str, Any] = {"instructions": [_instruction(i) for i in instructions], "annotation": annotation,
                               "cancelled": applied.cancelled, "started": applied.started}
    if skip_custom_listeners:
        details["skip_custom_listeners"] = True  # Tongban runs no listeners: recorded as asked
    runtime.save(instance, case, actor=actor, action=action, details=details)
    result["tasks"] = [{"id": t.id, "element_id": t.element_id, "name": t.name, "post": t.post,
                        "new": t.id in new_ids} for t in after.user_tasks]
    return result


def move(instance: ProcessInstance, from_task_id: str, to_element_id: str, *, actor: str | None,
         reason: str | None, dry_run: bool = False, variables: dict[str, Any] | None = None) -> dict:
    """The case's open task `from_task_id` is cancelled and a token starts before `to_element_id` (with
    `variables` in its data): 退回 to an earlier step, or a move forward, audited with the reason."""
    return modify(instance, [Instruction("cancel", task_id=from_task_id),
                             Instruction("startBeforeActivity", to_element_id, variables=dict(variables or {}))],
                  actor=actor, annotation=reason, dry_run=dry_run, action="instance.moved")


def _instruction(instruction: Instruction) -> dict:
    return {key: value for key, value in (("type", instruction.type), ("activityId", instruction.activity_id),
                                          ("activityInstanceId", instruction.task_id),
                                          ("variables", instruction.variables or None)) if value is not None}
