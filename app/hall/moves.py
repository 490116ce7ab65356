"""退回 and 撤回 in the hall: what a move of a case's token (app/tasks/moves.py, steps saved with the actions
`task.sent_back` and `task.taken_back`) means to the case's legal course.

* The reopened step goes back to the clerk who completed it, at the post they completed it at (or the lane's post,
  or its backup) — 首问负责制 for the step — while they hold it; while they are away it waits at its post and
  comes back to them on their return (AB岗, as the owner's steps do); else it waits at its post.
* The course records the move as an event of its own (`sent_back` 退回, `taken_back` 经办人撤回) with the reason,
  the step it left and the step it reopened. The case clock goes on: a move neither restarts nor pauses it
  (an acceptance done stays done; the reopened acceptance, completed again, accepts nothing anew).
* What has gone out to the applicant stays: a move issues no notice (the notices of the steps it re-enters were
  issued already), a step whose completion had an effect in law — it accepted the case, refused it, told it to
  supplement, decided, forwarded or delivered, or issued a notice — cannot be taken back, and a decided case
  cannot be sent back to a step before its decision (a decision is changed only as the law provides).
"""

from __future__ import annotations

import sqlalchemy as sa

from ..audit import service as audit
from ..errors import Conflict
from ..extensions import db
from ..hookspecs import StepResult
from ..people import absences as people
from ..tasks.models import UserTask
from ..tasks.moves import MOVES, SENT_BACK, TAKEN_BACK
from . import cases
from .course import KINDS
from .documents.models import Document
from .models import CaseEvent
from .vocabulary import Step, step_of

# events a completion makes that bind the agency toward the applicant: such a step cannot be taken back
BINDING = ("accepted", "not_accepted", "supplement_notice", "supplement_received", "decided", "forwarded",
           "delivered", "closed")
# steps that come after a decision: a decided case may still be sent back to them
AFTER_DECISION = (Step.DELIVER, Step.INFORM, Step.SUPERVISE)


def is_move(step: StepResult) -> bool:
    return step.action in MOVES


def check(step: StepResult) -> None:
    """Before the step is written: refuse a move the law does not allow (409)."""
    if step.action == TAKEN_BACK:
        _check_take_back(step)
    elif step.action == SENT_BACK:
        case = cases.for_step(step)
        role = step_of(step.process.element_properties(step.details.get("to_element") or ""))
        if case is not None and case.decided_at is not None and role not in AFTER_DECISION:
            raise Conflict(f"办件已作出决定，不能退回到决定之前的环节「{step.details.get('to_name')}」"
                           "（决定的变更或撤销须依法进行）",
                           {"instance_id": step.case_id, "to": step.details.get("to_element")}, code="decided")


def _check_take_back(step: StepResult) -> None:
    task_id = step.details.get("task_id")
    with db.session.no_autoflush:
        done_at = db.session.scalar(sa.select(UserTask.completed_at).where(UserTask.id == task_id))
        if done_at is None:
            return
        name = step.details.get("from_name") or ""
        notice = db.session.scalar(sa.select(Document.title).where(
            Document.instance_id == step.case_id,
            sa.or_(Document.task_id == task_id, Document.issued_at == done_at)).order_by(Document.id).limit(1))
        if notice is not None:
            raise Conflict(f"「{name}」办理时已出具《{notice}》，不能撤回", {"task_id": task_id, "document": notice},
                           code="binding_step")
        kind = db.session.scalar(sa.select(CaseEvent.kind).where(
            CaseEvent.instance_id == step.case_id, CaseEvent.at == done_at, CaseEvent.kind.in_(BINDING))
            .order_by(CaseEvent.id).limit(1))
        if kind is not None:
            raise Conflict(f"「{name}」办理时已{KINDS[kind]}，具有法律效果，不能撤回", {"task_id": task_id, "event": kind},
                           code="binding_step")


def assign_reopened(step: StepResult, rows: list[dict], today, at) -> tuple[list[dict], list[tuple]]:
    """The reopened step's row given to the clerk who completed it (audit entries), or kept for their return
    (the AB岗 returns to write); rows it cannot give them wait at their post."""
    username = step.details.get("reopen_for")
    element = step.details.get("to_element")
    if not username:
        return [], []
    user = people.active_user(username)
    entries, returns = [], []
    for row in rows:
        if row["element_id"] != element or user is None:
            continue
        posts = (row["home_post"], *row.get("other_posts", ()))
        completed_at = step.details.get("to_post")
        post = completed_at if completed_at in posts and completed_at in user.post_names \
            else people.post_for(user, row["home_post"])
        if post is None:
            continue  # no longer at the post (nor its backup): the step waits there for whoever holds it
        if today.is_absent(username):
            returns.append((row["id"], step.case_id, username))
            continue
        row.update(assignee=username, claimed_at=at, post=post)
        entries.append(audit.entry("task.assigned", actor=None, instance_id=step.case_id, task_id=row["id"],
                                   element_id=row["element_id"],
                                   details={"assignee": username, "cause": "sent_back" if step.action == SENT_BACK
                                            else "taken_back"}))
    return entries, returns
