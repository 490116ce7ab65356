"""联办件 (joint cases): each co-department's opinion is its own, and a dissent is never granted over.

- A co-opinion step (`hall.step=co_opinion`, `hall.department=<code>`) keeps its opinion under its department in
  the shared data (`opinions.<code>`: the submission with who and when). A diagram may map it itself
  (`camunda:outputParameter`); when it declares no outputs the hall does, so departments never overwrite each
  other. The opinion's vocabulary is `agree` (true to agree; anything else counts as a dissent).
- In a joint process only co-opinion steps write `opinions` and only coordination steps (`hall.step=coordinate`)
  write `coordination`: another step submitting them is a 422 (a review cannot rewrite a department's dissent).
- A dissent stands until its own department withdraws it or the district government decides it (Art. 26): the
  coordination step (`coordination=resolved`) counts only when completed by a dissenting department's post
  (withdrawing that department's dissent) or by the government's coordinating post (`kind: government`, 区政府协调岗);
  the lead department resolving it alone is a 422. Every opinion stays as given, with its history (the steps'
  submissions, and `opinion`/`coordination` events of the case's course).
- The guard reads the record, not the shared data: the co-opinion steps' own submissions (the latest per
  department) and the coordinations that followed them. A step that grants — a decision submitted with
  `decision=grant`, or any step that reaches an end event declaring `hall.outcome=granted` — while a dissent stands
  is refused with a 409.
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


def _standing(username: str | None) -> tuple[frozenset[str], bool]:
    """The departments a user speaks for (their posts'), and whether they hold the district government's
    coordinating post (a post of kind `government`)."""
    from ..people.models import Post, User, user_post

    if not username:
        return frozenset(), False
    with db.session.no_autoflush:
        rows = db.session.execute(
            sa.select(Post.department_code, Post.kind).join(user_post, user_post.c.post_name == Post.name)
            .join(User, User.id == user_post.c.user_id).where(User.username == username)).all()
    return frozenset(d for d, _ in rows if d), any(kind == "government" for _, kind in rows)


def dissenting(process: CompiledProcess, records: list[tuple]) -> list[str]:
    """The departments whose dissent stands: their latest opinion does not agree, they did not withdraw it, and the
    district government's coordinating post did not decide it.

    `records`: (element id, submitted data, submitted by) of the case's submissions, oldest first. A coordination
    `resolved` by a dissenting department's own post is that department withdrawing its dissent; by the
    coordinating post, the government's decision on every standing dissent; by anyone else, nothing.
    """
    against: set[str] = set()
    for element_id, data, by in records:
        step = vocabulary.step_of(process.element_properties(element_id))
        if step == Step.CO_OPINION:
            department = department_of(process, element_id)
            if data.get("agree") is True:
                against.discard(department)
            else:
                against.add(department)
        elif step == Step.COORDINATE and data.get(COORDINATION) == RESOLVED:
            departments, coordinator = _standing(by)
            if coordinator:
                against.clear()
            else:
                against -= departments
    return sorted(against)


def _grants(result: StepResult) -> bool:
    done, props = result.completed, result.process.element_properties
    if done is not None and vocabulary.step_of(props(done.element_id)) == Step.DECIDE \
            and result.submitted.get("decision") == "grant":
        return True
    return any(props(step.element_id).get(vocabulary.OUTCOME) == Outcome.GRANTED for step in result.steps)


def _records(result: StepResult) -> list[tuple]:
    return [(element_id, data or {}, by) for element_id, data, by in db.session.execute(
        sa.select(TaskSubmission.element_id, TaskSubmission.data, TaskSubmission.submitted_by)
        .where(TaskSubmission.instance_id == result.instance.id).order_by(TaskSubmission.id))]


def check_joint_decision(result: StepResult) -> None:
    """A dissent stands until its department withdraws it or the district government decides it (行政许可法
    Art. 26; 联办件): the lead department cannot resolve it alone (422), nor grant over it (409)."""
    if not is_joint(result.process):
        return
    done = result.completed
    coordinating = done is not None and result.submitted.get(COORDINATION) == RESOLVED and \
        vocabulary.step_of(result.process.element_properties(done.element_id)) == Step.COORDINATE
    if not coordinating and not _grants(result):
        return
    records = _records(result)
    if coordinating:
        standing = dissenting(result.process, records)
        departments, coordinator = _standing(result.actor)
        if standing and not coordinator and not set(standing) & departments:
            raise Invalid("会办部门的不同意见须由该部门撤回，或由区政府协调岗作出协调决定；牵头部门不能单方认定协调一致"
                          f"（持异议部门：{'、'.join(standing)}）",
                          {"instance_id": result.instance.id, "dissenting": standing}, code="dissent_stands")
    if done is not None:  # this step's own submission is written after the hooks
        records.append((done.element_id, result.submitted, result.actor))
    against = dissenting(result.process, records)
    if against and _grants(result):
        raise Conflict("会办部门有不同意见，未经该部门撤回或区政府协调决定不得准予",
                       {"instance_id": result.instance.id, "dissenting": against}, code="joint_dissent")
    if against and coordinating:  # one department withdrew, another still dissents: nothing is resolved yet
        raise Conflict(f"仍有会办部门持不同意见：{'、'.join(against)}，须由其撤回或由区政府协调岗决定",
                       {"instance_id": result.instance.id, "dissenting": against}, code="joint_dissent")
