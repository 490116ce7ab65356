"""联办件 (joint cases): each co-department's opinion is its own, and a dissent is never granted over.

- A co-opinion step (`hall.step=co_opinion`, `hall.department=<code>`) keeps its opinion under its department in
  the shared data (`opinions.<code>`: the submission with who and when). A diagram may map it itself
  (`camunda:outputParameter`); when it declares no outputs the hall does, so departments never overwrite each
  other. The opinion's vocabulary is `agree` (true to agree; anything else counts as a dissent).
- In a joint process only co-opinion steps write `opinions` and only coordination steps (`hall.step=coordinate`)
  write `coordination`: another step submitting them is a 422 (a review cannot rewrite a department's dissent).
- The guard reads the record, not the shared data: the co-opinion steps' own submissions (the latest per
  department) and the coordination that followed them. A step that grants — a decision submitted with
  `decision=grant`, or any step that reaches an end event declaring `hall.outcome=granted` — while a department
  dissents and no later coordination resolved it (`coordination=resolved`) is refused with a 409.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from ..engine.compiler import CompiledProcess
from ..errors import Conflict, Invalid
from ..extensions import db
from ..instances.hooks import StepResult
from ..tasks.models import TaskSubmission
from . import vocabulary
from .vocabulary import Outcome, Step

OPINIONS = "opinions"  # the shared map of co-opinions, by department
COORDINATION = "coordination"  # the coordination step's result: resolved | refuse
RESOLVED = "resolved"
_PROTECTED = {OPINIONS: Step.CO_OPINION, COORDINATION: Step.COORDINATE}


def is_joint(process: CompiledProcess) -> bool:
    return any(vocabulary.step_of(props) == Step.CO_OPINION for props in process.properties.values())


def department_of(process: CompiledProcess, element_id: str) -> str:
    return process.element_properties(element_id).get(vocabulary.DEPARTMENT) or element_id


def shared_opinion(process: CompiledProcess, element_id: str, data: dict, actor: str | None,
                   at: datetime) -> dict | None:
    """A submission hook: a co-opinion without declared outputs lands under its department; in a joint process,
    no other step writes the opinions or the coordination."""
    if not is_joint(process):
        return None
    step = vocabulary.step_of(process.element_properties(element_id))
    for name, owner in _PROTECTED.items():
        if name in data and step != owner:
            raise Invalid(f"「{name}」只能由{'会办意见' if owner == Step.CO_OPINION else '牵头协调'}步骤填写",
                          {"field": name, "element": element_id}, code="protected_field")
    meta = process.user_tasks.get(element_id)
    if step != Step.CO_OPINION or (meta is not None and meta.outputs):
        return None
    department = department_of(process, element_id)
    return {OPINIONS: {department: {**data, "department": department, "by": actor, "at": at.isoformat()}}}


def dissenting(process: CompiledProcess, records: list[tuple[str, dict]]) -> list[str]:
    """The departments whose latest opinion does not agree and that no later coordination resolved.

    `records`: (element id, submitted data) of the case's submissions, oldest first.
    """
    against: set[str] = set()
    for element_id, data in records:
        step = vocabulary.step_of(process.element_properties(element_id))
        if step == Step.CO_OPINION:
            department = department_of(process, element_id)
            if data.get("agree") is True:
                against.discard(department)
            else:
                against.add(department)
        elif step == Step.COORDINATE and data.get(COORDINATION) == RESOLVED:
            against.clear()
    return sorted(against)


def _grants(result: StepResult) -> bool:
    done, props = result.completed, result.process.element_properties
    if done is not None and vocabulary.step_of(props(done.element_id)) == Step.DECIDE \
            and result.submitted.get("decision") == "grant":
        return True
    return any(props(step.element_id).get(vocabulary.OUTCOME) == Outcome.GRANTED for step in result.steps)


def check_joint_decision(result: StepResult) -> None:
    """A dissent is never granted without the lead department's coordination (行政许可法 Art. 26; 联办件)."""
    if not _grants(result) or not is_joint(result.process):
        return
    records = [(element_id, data or {}) for element_id, data in db.session.execute(
        sa.select(TaskSubmission.element_id, TaskSubmission.data)
        .where(TaskSubmission.instance_id == result.instance.id).order_by(TaskSubmission.id))]
    if result.completed is not None:  # this step's own submission is written after the hooks
        records.append((result.completed.element_id, result.submitted))
    against = dissenting(result.process, records)
    if against:
        raise Conflict("会办部门有不同意见，未经牵头部门协调一致不得准予",
                       {"instance_id": result.instance.id, "dissenting": against}, code="joint_dissent")
