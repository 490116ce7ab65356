"""The hall's step hooks: what the center's practice adds to every saved step, registered with the runtime.

- 首问负责制 (ownership): whoever completes a case's first window task owns the case;
- the case clock (办件计时, `supervision/clock.py`): due date, pauses, outcome;
- new task rows: routed to the backup post while a post's holders are all away (AB岗), given to the owner when
  they come back to the owner's window post, green-channel cases first, the step's role from the diagram,
  and watched by supervision from when they could turn yellow.
"""

from __future__ import annotations

from ..audit import service as audit
from ..extensions import db
from ..instances import hooks
from ..people import absences as people
from . import joint, vocabulary
from .supervision import clock
from .supervision.service import watch_from


def register() -> None:
    hooks.register("hall.ownership", take_ownership, when="before_flush")
    joint.register()  # 联办件: opinions kept per department, no grant over a dissent
    hooks.register("hall.clock", clock.on_step, when="before_flush")
    hooks.register("hall.task_rows", shape_task_rows, when="new_tasks")


def take_ownership(result: hooks.StepResult) -> None:
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


def shape_task_rows(result: hooks.StepResult, rows: list[dict]) -> None:
    instance, at = result.instance, result.at
    today = people.cached_routing(at)  # AB岗: a post whose holders are all away sends to its backup
    for row in rows:
        row["post"] = today.route(row["home_post"])
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
