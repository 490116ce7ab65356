"""The hall wing as a plugin of the runtime: what the center's practice adds to every case, in the order below.

- Start: the applicant validated, the matter offered, one open case per business key (`intake`);
- before the case row is written: 首问负责制 (whoever completes a case's first window task owns it), 联办件
  (no grant over a dissent, `joint`), the case clock (办件计时, `supervision/clock.py`), the case number, the
  materials checklist (`intake`);
- new task rows: given to the owner when they come back to the owner's window post, green-channel cases first,
  the step's role from the diagram, watched by supervision from when they could turn yellow (AB岗 routing is
  app/people's, before this);
- after: the intake record and the notices the step issues (`documents`).
"""

from __future__ import annotations

from datetime import datetime

from flask import Flask

from ..audit import service as audit
from ..extensions import db
from ..hookspecs import hookimpl
from ..instances.hooks import StartContext, StepResult
from ..instances.models import OPEN_BUSINESS_KEY
from ..people import absences as people
from . import checks, intake, joint, vocabulary
from .documents import service as documents
from .supervision import clock
from .supervision import service as supervision
from .supervision.service import watch_from


@hookimpl
def case_starting(start: StartContext) -> None:
    intake.on_starting(start)


@hookimpl
def step_before_flush(step: StepResult) -> None:
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
    intake.record_intake(step)  # before the notices: the receipt prints the applicant
    documents.on_step(step)


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
    for row in rows:
        if "due_at" in row["values"]:
            row["values"]["watch_from"] = watch_from(at, row["values"]["due_at"])


@hookimpl
def deploy_checks(processes, tree, filename: str, options: dict) -> list[dict]:
    return checks.property_problems(processes, tree, filename)  # deploy refuses a hall property it does not know


@hookimpl
def scheduled_jobs(app: Flask) -> list[tuple]:
    return [("supervision_sweep", supervision.sweep, app.config.get("SUPERVISION_INTERVAL_SECONDS", 60))]


@hookimpl
def constraint_conflicts() -> list[tuple]:
    return [(OPEN_BUSINESS_KEY, "duplicate_business_key",
             "该事项已有相同业务号的在办件，不能重复收件 (an open case of this matter has this business key)",
             ("process_instance.matter_code", "process_instance.business_key"))]


def take_ownership(result: StepResult) -> None:
    """首问负责制: whoever completes the case's first window task (the acceptance) owns the case."""
    instance, done = result.instance, result.completed
    if done is None or instance.owner is not None:
        return
    with db.session.no_autoflush:  # the case row is written once, with its owner, by the flush that follows
        # the window post the clerk accepted at: the department's, or another candidate (the comprehensive window)
        post = people.owning_post(result.actor, (done.post, *done.other_posts))
    if post is None:
        return
    instance.owner, instance.owner_post = result.actor, post
    result.audit.append(audit.entry("instance.owner", actor=result.actor, instance_id=instance.id, task_id=done.id,
                                    details={"owner": instance.owner, "post": instance.owner_post}))


def shape_task_rows(result: StepResult, rows: list[dict]) -> None:
    instance, at = result.instance, result.at
    today = people.cached_routing(at)
    for row in rows:
        row["role"] = vocabulary.step_of(result.process.element_properties(row["element_id"]))
        row["priority"] = 1 if instance.green_channel else 0  # major projects first (绿色通道)
        if row["due_at"] is not None:
            row["light"] = "green"
            row["watch_from"] = watch_from(at, row["due_at"])
    result.audit.extend(_assign_to_owner(instance, rows, today, at))


def _assign_to_owner(instance, rows: list[dict], today, at) -> list[dict]:
    """New steps back at the owner's window post (supplement check, delivery...) are the owner's by default.

    While the owner is away they wait at the post (or its backup) and are kept for the owner (`return_to`).
    """
    mine = [row for row in rows if instance.owner
            and instance.owner_post in (row["home_post"], *row.get("other_posts", ()))]
    if not mine:
        return []
    if today.is_absent(instance.owner):
        for row in mine:
            row["return_to"] = instance.owner
        return []
    user = people.active_user(instance.owner)
    post = people.post_for(user, instance.owner_post) if user is not None else None
    if post is None:  # the owner no longer holds the post or its backup: the step waits at its post
        return []
    for row in mine:
        row.update(assignee=instance.owner, claimed_at=at, post=post)
    return [audit.entry("task.assigned", actor=None, instance_id=instance.id, task_id=row["id"],
                        element_id=row["element_id"], details={"assignee": instance.owner, "cause": "owner"})
            for row in mine]
