"""The hall wing as a plugin of the runtime: what the center's practice adds to every case, in the order below.

- Start: the applicant validated, the matter offered, one open case per business key (`intake`);
- before the case row is written: 首问负责制 (whoever completes a case's first window task owns it), 联办件
  (no grant over a dissent, `joint`), the case clock (办件计时, `supervision/clock.py`), the case number, the
  materials checklist (`intake`);
- new task rows: a step reopened by 退回 or 撤回 given to the clerk who completed it (`moves`), others to the
  owner when they come back to the owner's window post, green-channel cases first,
  the step's role from the diagram, watched by supervision from when they could turn yellow (AB岗 routing is
  app/people's, before this);
- after: the intake record and the notices the step issues (`documents`).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask import Flask

from ..audit import service as audit
from ..calendar import service as calendar
from ..engine.specs import PRIORITY_BOUND
from ..extensions import db
from ..hookspecs import hookimpl
from ..instances.hooks import StartContext, StepResult
from ..instances.reschedule import ACTION as RESCHEDULED
from ..people import absences as people
from . import cases, checks, intake, joint, moves, summary, vocabulary
from .documents import service as documents
from .models import OPEN_BUSINESS_KEY, HallCase, HallTask
from .supervision import clock
from .supervision import service as supervision
from .supervision.service import watch_from


@hookimpl
def case_starting(start: StartContext) -> None:
    intake.on_starting(start)


@hookimpl
def step_before_flush(step: StepResult) -> None:
    moves.check(step)  # 退回, 撤回: not across what the law has made final
    take_ownership(step)
    joint.check_joint_decision(step)  # 联办件: no grant over a standing dissent
    clock.on_step(step)
    intake.on_new_case(step)  # after the clock: the case knows its matter when it gets a number
    intake.check_materials(step)


@hookimpl
def step_new_tasks(step: StepResult, rows: list[dict]) -> None:
    shape_task_rows(step, rows)


@hookimpl
def step_after_flush(step: StepResult) -> None:
    clock.write(step)  # a new case's hall row, the clock's history, the course's events
    case = cases.for_step(step)
    if step.is_new and case is not None:
        step.answer.update(summary.fields(case))  # the start answer shows the case's number and clock
    write_task_rows(step)
    supervision.steps_ended(step)
    if step.action == RESCHEDULED:
        supervision.rescheduled_steps(step)
    intake.record_intake(step)  # before the notices: the receipt prints the applicant
    documents.on_step(step)


@hookimpl
def calendar_changed(days: list, actor: str | None, at: datetime) -> None:
    """A calendar change: open cases' clocks counted again, and their lights with them; the sweep looks again at
    whatever a changed day can move."""
    if days:
        supervision.look_again_from(min(days))
    supervision.relight(clock.recompute_for_calendar(days, actor, at), at)


@hookimpl
def course_ended(process, steps: list, snapshot) -> bool:
    """The case's main course reached its end (an end event declaring `hall.outcome`) while only escalation
    steps (督办, `hall.step=supervise`) remain: they end with it; they never hold a case open."""
    props = process.element_properties
    if not any(props(step.element_id).get(vocabulary.OUTCOME) for step in steps):
        return False
    return all(vocabulary.step_of(props(task.element_id)) == vocabulary.Step.SUPERVISE
               for task in snapshot.user_tasks)


@hookimpl
def submission_outputs(process, element_id: str, data: dict, actor: str | None, at: datetime) -> dict | None:
    return joint.shared_opinion(process, element_id, data, actor, at)


@hookimpl
def task_prefill(task, case, properties: dict[str, str]) -> dict | None:
    return intake.prefill(task, case, properties)


@hookimpl
def task_defaults(task, case, properties: dict[str, str]) -> dict | None:
    return intake.defaults(task, case, properties)


@hookimpl
def tasks_migrated(instance, rows: list[dict], at: datetime) -> None:
    """A step whose deadline changed in a migration is watched again from when it could turn yellow."""
    for row in rows:
        if "due_at" in row["values"]:
            due = row["values"]["due_at"]
            db.session.execute(sa.update(HallTask).where(HallTask.task_id == row["id"]).values(
                watch_from=watch_from(at, due) if due is not None else None,
                light="green" if due is not None else None))


@hookimpl
def deploy_checks(processes, tree, filename: str, options: dict) -> list[dict]:
    return checks.property_problems(processes, tree, filename)  # deploy refuses a hall property it does not know


@hookimpl
def scheduled_jobs(app: Flask) -> list[tuple]:
    return [("supervision_sweep", supervision.sweep, app.config.get("SUPERVISION_INTERVAL_SECONDS", 60)),
            ("matter_versions", apply_matter_versions, app.config.get("MATTER_VERSIONS_INTERVAL_SECONDS", 300.0))]


def apply_matter_versions() -> int:
    """Matter records changed to take effect on a later date become the catalog's record on that date (the case
    clock already receives cases under them from that date: app/hall/supervision/clock.py)."""
    from ..matters import service as matters

    applied = matters.apply_due()
    db.session.commit()
    return applied


@hookimpl
def constraint_conflicts() -> list[tuple]:
    return [(OPEN_BUSINESS_KEY, "duplicate_business_key",
             "该事项已有相同业务号的在办件，不能重复收件 (an open case of this matter has this business key)",
             ("hall_case.matter_code", "hall_case.business_key"))]


def take_ownership(result: StepResult) -> None:
    """首问负责制: whoever completes the case's first window task (the acceptance) owns the case."""
    done = result.completed
    if done is None:
        return
    case = cases.for_step(result)
    if case is not None and case.owner is not None:
        return
    with db.session.no_autoflush:
        # the window post the clerk accepted at: the department's, or another candidate (the comprehensive window)
        post = people.owning_post(result.actor, (done.post, *done.other_posts))
    if post is None:
        return
    if case is None:  # a case of no matter: the hall keeps only its owner
        case = cases.start(result, HallCase(instance_id=result.case_id, matter_code=None, is_open=True,
                                            department_code=result.instance.department_code,
                                            business_key=result.instance.business_key))
    case.owner, case.owner_post = result.actor, post
    case.window_no = people.window_of(result.actor)  # the statistics count by the window that accepted the case
    result.audit.append(audit.entry("instance.owner", actor=result.actor, instance_id=result.case_id,
                                    task_id=done.id, details={"owner": case.owner, "post": case.owner_post}))


_TASK_ROWS = "hall.task_rows"
# A green-channel case's steps rank this far above what their diagram says (camunda:priority, Camunda's normal 50;
# modelers keep to 0–100), so that they come first in every post's list.
GREEN_CHANNEL_LIFT = 1000


def green_channel_rank(priority: int) -> int:
    """绿色通道 first: the runtime's rank of a green-channel case's task, lifted (within the column's 32 bits)."""
    return min(priority + GREEN_CHANNEL_LIFT, PRIORITY_BOUND)
_RETURNS = "hall.task_returns"
_INSERT_TASKS = HallTask.__table__.insert()  # Core, built once: every step that opens tasks writes their rows


def shape_task_rows(result: StepResult, rows: list[dict]) -> None:
    """The new steps' hall rows (role, supervision's watch), written after the runtime's task rows; the
    owner's steps given to the owner."""
    case = cases.for_step(result)
    at = result.at
    hall_rows = []
    cal = calendar.workday_calendar() if any(row["due_at"] is not None for row in rows) else None
    for row in rows:
        due = row["due_at"]
        fields = {"role": vocabulary.step_of(result.process.element_properties(row["element_id"])),
                  "light": "green" if due is not None else None}
        row.update(fields)  # the answer shows them without reading the rows back (summary.task_views)
        if case is not None and case.green_channel:
            row["priority"] = green_channel_rank(row["priority"])
        hall_rows.append({"task_id": row["id"], "instance_id": result.case_id, **fields,
                          "watch_from": watch_from(at, due, cal) if due is not None else None})
    result.plugin_rows[_TASK_ROWS] = hall_rows
    if case is None and not moves.is_move(result):
        return
    today = people.cached_routing(at)
    kept = []
    if moves.is_move(result):  # the reopened step goes back to the clerk who completed it
        entries, kept = moves.assign_reopened(result, rows, today, at)
        result.audit.extend(entries)
        if kept:
            result.plugin_rows.setdefault(_RETURNS, []).extend(kept)
    if case is not None:
        handled = {task_id for task_id, _, _ in kept}
        result.audit.extend(_assign_to_owner(result, case, [r for r in rows if r["assignee"] is None
                                                            and r["id"] not in handled], today, at))


def write_task_rows(result: StepResult) -> None:
    rows = result.plugin_rows.pop(_TASK_ROWS, [])
    if rows:
        db.session.connection().execute(_INSERT_TASKS, rows)
    returns = result.plugin_rows.pop(_RETURNS, [])
    if returns:
        people.keep_for(returns)


def _assign_to_owner(result: StepResult, case, rows: list[dict], today, at) -> list[dict]:
    """New steps back at the owner's window post (supplement check, delivery...) are the owner's by default.

    While the owner is away they wait at the post (or its backup) and are kept for the owner (AB岗).
    """
    mine = [row for row in rows if case.owner and case.owner_post in (row["home_post"], *row.get("other_posts", ()))]
    if not mine:
        return []
    if today.is_absent(case.owner):
        result.plugin_rows.setdefault(_RETURNS, []).extend((row["id"], result.case_id, case.owner) for row in mine)
        return []
    user = people.active_user(case.owner)
    post = people.post_for(user, case.owner_post) if user is not None else None
    if post is None:  # the owner no longer holds the post or its backup: the step waits at its post
        return []
    for row in mine:
        row.update(assignee=case.owner, claimed_at=at, post=post)
    return [audit.entry("task.assigned", actor=None, instance_id=result.case_id, task_id=row["id"],
                        element_id=row["element_id"], details={"assignee": case.owner, "cause": "owner"})
            for row in mine]
