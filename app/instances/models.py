"""The runtime's rows: cases (process instances, the serialized engine state and what lists need), their open
user tasks, waiting timers and message subscriptions — written together by `runtime.save`, in one transaction.

`app/tasks`, `app/timers` and `app/messages` work on these rows (and name them from their own `models`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..models_base import UtcDateTime

STATES = ("running", "completed", "cancelled", "error", "suspended")  # suspended: with its definition (ops)


class ProcessInstance(db.Model):
    __tablename__ = "process_instance"
    __table_args__ = (
        sa.Index("ix_process_instance_key_state", "process_key", "state"),
        # a department's cases and a clerk's own starts, newest first (case lists walk them: people.access)
        sa.Index("ix_process_instance_department_code_walk", "department_code", sa.text("started_at DESC"), "id"),
        sa.Index("ix_process_instance_started_by_walk", "started_by", sa.text("started_at DESC"), "id"),
    )

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    definition_id: Mapped[int] = mapped_column(sa.ForeignKey("process_definition.id"), index=True)
    process_key: Mapped[str] = mapped_column(sa.String(200))
    business_key: Mapped[str | None] = mapped_column(sa.String(200), index=True)
    state: Mapped[str] = mapped_column(sa.String(20), index=True)
    data: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    engine_state: Mapped[str] = mapped_column(sa.Text, deferred=True)  # read only when the live case is not cached
    error: Mapped[str | None] = mapped_column(sa.Text)
    started_by: Mapped[str | None] = mapped_column(sa.String(64))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    version: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    # whose case this is, for access by department (people.access): a plugin says when the case starts
    department_code: Mapped[str | None] = mapped_column(sa.String(32))
    # Optimistic locking: every UPDATE checks the version it read; a concurrent writer loses with 409.
    __mapper_args__ = {"version_id_col": version}


# -- user tasks ----------------------------------------------------------------------------------------------------
TASK_STATES = ("open", "completed", "cancelled")


class UserTask(db.Model):
    __tablename__ = "user_task"
    __table_args__ = (
        sa.Index("ix_user_task_post_state", "post", "state", "created_at"),
        sa.Index("ix_user_task_assignee_state", "assignee", "state"),
        sa.Index("ix_user_task_instance_state", "instance_id", "state"),
        sa.Index("ix_user_task_state_due", "state", "due_at"),
        sa.Index("ix_user_task_home_post_state", "home_post", "state"),
        sa.Index("ix_user_task_completed_by", "completed_by"),  # cases a clerk took part in (people.access)
        # a post's open tasks by rank, then in due order (task lists walk it), and GET /posts counts them from it alone:
        # its size is today's work, however many tasks are finished
        sa.Index("ix_user_task_open_post", "post", sa.text("priority DESC"), "due_at", "created_at", "id", "assignee",
                 sqlite_where=sa.text("state = 'open'"), postgresql_where=sa.text("state = 'open'")),
        # every open task in list order: the lists of those who see tasks of every post
        sa.Index("ix_user_task_open_rank", sa.text("priority DESC"), "due_at", "created_at", "id",
                 sqlite_where=sa.text("state = 'open'"), postgresql_where=sa.text("state = 'open'")),
    )

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    instance_id: Mapped[str] = mapped_column(sa.ForeignKey("process_instance.id", ondelete="CASCADE"))
    process_key: Mapped[str] = mapped_column(sa.String(200))
    element_id: Mapped[str] = mapped_column(sa.String(200))
    name: Mapped[str] = mapped_column(sa.String(300))
    post: Mapped[str | None] = mapped_column(sa.String(100))  # where the task is routed now (lists use this)
    home_post: Mapped[str | None] = mapped_column(sa.String(100))  # the lane's post; `post` differs while diverted
    assignee: Mapped[str | None] = mapped_column(sa.String(64))
    state: Mapped[str] = mapped_column(sa.String(20), default="open")
    form_key: Mapped[str | None] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    due_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # its rank in a post's list, higher first: the diagram's camunda:priority (Camunda's normal 50), which a plugin
    # may change when the task opens (the hall lifts a green-channel case's); the runtime always writes it (0032)
    priority: Mapped[int] = mapped_column(sa.Integer, default=50)
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    completed_by: Mapped[str | None] = mapped_column(sa.String(64))
    # loaded when asked for (lists load them with their tasks): most checks decide on `post` and `home_post`
    candidates: Mapped[list[TaskCandidate]] = relationship(lazy="select", viewonly=True)

    @property
    def other_posts(self) -> list[str]:
        """Further posts where the task may be worked (its diagram's further candidate groups)."""
        return sorted(c.post for c in self.candidates)


class PostTally(db.Model):
    """Open tasks per post, as changes: triggers on `user_task` (migration 0027) add a row for every task that
    enters or leaves a post's open work (created, completed, cancelled, moved, claimed), in the writer's own
    transaction, and `tasks.service.fold_post_tally` sums them into one row per post now and then — so counting a
    post's open tasks reads a few rows, not every open task (GET /posts). Rows are only ever added or folded: two
    steps never wait for each other here."""

    __tablename__ = "post_tally"
    __table_args__ = {"info": {"kept_by_triggers": True}}

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True)
    post: Mapped[str] = mapped_column(sa.String(100))
    open_tasks: Mapped[int] = mapped_column(sa.Integer)
    claimed_tasks: Mapped[int] = mapped_column(sa.Integer)


class CaseParty(db.Model):
    """Who takes part in a case through its tasks: a row per case and party — `u:<username>` for whoever holds or
    completed one of its tasks, `p:<post>` for a post one of its tasks is routed to or comes from (its home post)
    — with how many of the case's tasks name that party. Triggers on `user_task` (migration 0029) keep it in the
    writer's transaction, so it is exact: a party's row goes when its last task leaves it. It carries the case's
    start time so that a clerk's case list walks their own cases newest first from one index (people.access),
    instead of probing every newer case of the center for their part in it."""

    __tablename__ = "case_party"
    __table_args__ = (
        sa.Index("ix_case_party_walk", "party", sa.text("started_at DESC"), "instance_id"),
        {"info": {"kept_by_triggers": True}},
    )

    instance_id: Mapped[str] = mapped_column(sa.ForeignKey("process_instance.id", ondelete="CASCADE"),
                                             primary_key=True)
    party: Mapped[str] = mapped_column(sa.String(110), primary_key=True)
    tasks: Mapped[int] = mapped_column(sa.Integer)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())


class TaskSubmission(db.Model):
    """What a completed task was submitted with (who, when, what): a record of the case, kept whole even when
    the task declares outputs and only those reach the case's shared data (Camunda's local variables)."""

    __tablename__ = "task_submission"
    __table_args__ = (sa.Index("ix_task_submission_instance", "instance_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[str] = mapped_column(sa.ForeignKey("process_instance.id", ondelete="CASCADE"))
    task_id: Mapped[str] = mapped_column(sa.String(36), index=True)
    element_id: Mapped[str] = mapped_column(sa.String(200))
    name: Mapped[str] = mapped_column(sa.String(300))
    post: Mapped[str | None] = mapped_column(sa.String(100))
    submitted_by: Mapped[str | None] = mapped_column(sa.String(64))
    submitted_at: Mapped[datetime] = mapped_column(UtcDateTime())
    data: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    outputs: Mapped[list | None] = mapped_column(sa.JSON)  # the names it declared as output; None: all of it


def candidate_rows(task_id: str, home_post: str | None, posts) -> list[dict]:
    """The task_candidate rows of a task: its further candidate posts, once each, its home post left out."""
    return [{"task_id": task_id, "post": post} for post in dict.fromkeys(posts) if post and post != home_post]


class TaskCandidate(db.Model):
    """A post, besides its first, where an open task may be worked (Camunda's further candidate groups: an
    acceptance step of a department's window is also the comprehensive window's). Lists and access look here
    too; the task's own `post`/`home_post` stay the first candidate group."""

    __tablename__ = "task_candidate"
    __table_args__ = (
        sa.Index("ix_task_candidate_post", "post", "task_id"),
        # lists look up open tasks only: this index stays the size of today's work, however long the history
        sa.Index("ix_task_candidate_open_post", "post", "task_id", sqlite_where=sa.text("is_open"),
                 postgresql_where=sa.text("is_open")),
    )

    task_id: Mapped[str] = mapped_column(sa.ForeignKey("user_task.id", ondelete="CASCADE"), primary_key=True)
    post: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    # False once the task is completed or cancelled (runtime._sync_tasks): the row stays, as the task's record
    # of where it could be worked (the hall names the owner's window post from it)
    is_open: Mapped[bool] = mapped_column(sa.Boolean, default=True, server_default=sa.true())


# -- timers ----------------------------------------------------------------------------------------------------
# fired: the engine ran it; cancelled: its step ended before it was due; superseded: it was due, but another step
# (a completion, a cancel) ended its step first; failed: an incident; resolved: a failed one closed by ops
TIMER_STATES = ("waiting", "fired", "cancelled", "superseded", "failed", "resolved")


class Timer(db.Model):
    __tablename__ = "timer"
    __table_args__ = (
        sa.Index("ix_timer_state_due", "state", "due_at"),
        sa.Index("ix_timer_instance_state", "instance_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[str] = mapped_column(sa.ForeignKey("process_instance.id", ondelete="CASCADE"))
    task_id: Mapped[str] = mapped_column(sa.String(36))
    element_id: Mapped[str] = mapped_column(sa.String(200))
    name: Mapped[str] = mapped_column(sa.String(300))
    kind: Mapped[str] = mapped_column(sa.String(20))
    due_at: Mapped[datetime] = mapped_column(UtcDateTime())
    state: Mapped[str] = mapped_column(sa.String(20), default="waiting")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    fired_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    # when the running attempt began: another process takes an unfinished attempt for a dead one only when it is
    # older than the attempts' bound (timers.service.ATTEMPT_STALE)
    attempt_started_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


ATTEMPT_RUNNING = "正在触发"  # a timer's last_error while an attempt at it runs (app/timers/service.py)


def attempt_returned() -> dict[str, Any]:
    """What a step that ran or ended a timer writes on its row besides its new state: an attempt running at it
    came back, so it is not counted (`attempts` counts the failed ones), and the timer has no error."""
    table = Timer.__table__
    return {"last_error": None, "attempts": sa.case((table.c.last_error.startswith(ATTEMPT_RUNNING),
                                                     table.c.attempts - 1), else_=table.c.attempts)}


# -- message subscriptions ------------------------------------------------------------------------------------------
class MessageSubscription(db.Model):
    __tablename__ = "message_subscription"
    __table_args__ = (sa.Index("ix_message_subscription_name_bk", "name", "business_key"),
                      sa.Index("ix_message_subscription_kind_name", "kind", "name"))

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[str] = mapped_column(sa.ForeignKey("process_instance.id", ondelete="CASCADE"), index=True)
    task_id: Mapped[str] = mapped_column(sa.String(36))
    element_id: Mapped[str] = mapped_column(sa.String(200))
    name: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[str] = mapped_column(sa.String(10), default="message", server_default="message")  # message | signal
    business_key: Mapped[str | None] = mapped_column(sa.String(200))
