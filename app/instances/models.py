"""The runtime's rows: cases (process instances, the serialized engine state and what lists need), their open
user tasks, waiting timers and message subscriptions — written together by `runtime.save`, in one transaction.

`app/tasks`, `app/timers` and `app/messages` work on these rows (and name them from their own `models`)."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..models_base import UtcDateTime

STATES = ("running", "completed", "cancelled", "error", "suspended")  # suspended: with its definition (ops)
OPEN_BUSINESS_KEY = "uq_process_instance_open_business_key"
_OPEN = "business_key IS NOT NULL AND matter_code IS NOT NULL AND state IN ('running', 'suspended', 'error')"


class ProcessInstance(db.Model):
    __tablename__ = "process_instance"
    __table_args__ = (
        sa.Index("ix_process_instance_key_state", "process_key", "state"),
        # intake: one open case per business key and matter; the race between two starts ends at this index
        sa.Index(OPEN_BUSINESS_KEY, "matter_code", "business_key", unique=True,
                 sqlite_where=sa.text(_OPEN), postgresql_where=sa.text(_OPEN)),
    )

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    definition_id: Mapped[int] = mapped_column(sa.ForeignKey("process_definition.id"), index=True)
    process_key: Mapped[str] = mapped_column(sa.String(200))
    business_key: Mapped[str | None] = mapped_column(sa.String(200), index=True)
    state: Mapped[str] = mapped_column(sa.String(20), index=True)
    data: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    engine_state: Mapped[str] = mapped_column(sa.Text, deferred=True)  # read only when the live case is not cached
    error: Mapped[str | None] = mapped_column(sa.Text)
    started_by: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    version: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    # 首问负责制: the clerk who accepted the case, and the window post where they did it
    owner: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    owner_post: Mapped[str | None] = mapped_column(sa.String(100))
    # The case clock and supervision (see app/supervision): filled for cases of a catalogued matter.
    matter_code: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    department_code: Mapped[str | None] = mapped_column(sa.String(32), index=True)
    window_no: Mapped[int | None] = mapped_column(sa.Integer, index=True)  # the acceptor's window
    green_channel: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())
    received_on: Mapped[date | None] = mapped_column(sa.Date)  # 收件 date in Asia/Shanghai: the clock starts here
    promised_days: Mapped[int | None] = mapped_column(sa.Integer)  # the limit this case runs under
    paused_days: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    paused_since: Mapped[datetime | None] = mapped_column(UtcDateTime())
    due_date: Mapped[date | None] = mapped_column(sa.Date, index=True)
    outcome: Mapped[str | None] = mapped_column(sa.String(30), index=True)
    working_days_used: Mapped[int | None] = mapped_column(sa.Integer)
    on_time: Mapped[bool | None] = mapped_column(sa.Boolean)
    light: Mapped[str | None] = mapped_column(sa.String(10), index=True)  # green | yellow | red; None once closed
    supplement_count: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    # 延期 (Art. 42): the working days added with the head's approval, once, by whom, when and why
    extended_days: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    extended_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    extended_by: Mapped[str | None] = mapped_column(sa.String(64))
    extension_reason: Mapped[str | None] = mapped_column(sa.Text)
    # 上报 (Art. 43): when the case went to the higher authority, whether the district clock ended or paused
    # there, and when the reply came (the higher authority's time is not the district's)
    forwarded_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    forward_clock: Mapped[str | None] = mapped_column(sa.String(10))
    replied_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime())  # Art. 44: delivery within 10 days of it
    # Art. 32: no supplement notice within 5 working days of receipt: the application counts as accepted on receipt
    accepted_on_receipt: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())
    # intake (hall/intake.py): {region}{department letters}{yyyyMMdd}{serial}, unique
    case_number: Mapped[str | None] = mapped_column(sa.String(40), unique=True)

    # Optimistic locking: every UPDATE checks the version it read; a concurrent writer loses with 409.
    __mapper_args__ = {"version_id_col": version}


class CaseIntake(db.Model):
    """What the window records on receiving a case (收件): the applicant, the query code's digest, the checklist."""

    __tablename__ = "case_intake"

    instance_id: Mapped[str] = mapped_column(sa.ForeignKey("process_instance.id"), primary_key=True)
    applicant_kind: Mapped[str | None] = mapped_column(sa.String(20))  # person | organisation
    applicant_name: Mapped[str | None] = mapped_column(sa.String(200), index=True)
    id_type: Mapped[str | None] = mapped_column(sa.String(30))
    id_number: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    phone: Mapped[str | None] = mapped_column(sa.String(30))
    address: Mapped[str | None] = mapped_column(sa.String(300))
    legal_representative: Mapped[str | None] = mapped_column(sa.String(100))
    agent_name: Mapped[str | None] = mapped_column(sa.String(100))
    agent_id_type: Mapped[str | None] = mapped_column(sa.String(30))
    agent_id_number: Mapped[str | None] = mapped_column(sa.String(64))
    agent_phone: Mapped[str | None] = mapped_column(sa.String(30))
    # sha256 of the query code: enough to check one, nothing to print it from
    query_code_digest: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    query_code_set_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    received_materials: Mapped[list] = mapped_column(sa.JSON, default=list)  # the acceptance checklist
    missing_materials: Mapped[list] = mapped_column(sa.JSON, default=list)  # derived at 补正 (一次性告知)


# -- user tasks ----------------------------------------------------------------------------------------------------
TASK_STATES = ("open", "completed", "cancelled")


class UserTask(db.Model):
    __tablename__ = "user_task"
    __table_args__ = (
        sa.Index("ix_user_task_post_state", "post", "state", "priority", "created_at"),
        sa.Index("ix_user_task_assignee_state", "assignee", "state"),
        sa.Index("ix_user_task_instance_state", "instance_id", "state"),
        sa.Index("ix_user_task_state_due", "state", "due_at"),
        sa.Index("ix_user_task_state_watch", "state", "watch_from"),
        sa.Index("ix_user_task_home_post_state", "home_post", "state"),
        sa.Index("ix_user_task_return_to", "return_to"),
        sa.Index("ix_user_task_completed_by", "completed_by"),  # cases a clerk took part in (people.access)
        sa.Index("ix_user_task_state_role", "state", "role"),
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
    role: Mapped[str | None] = mapped_column(sa.String(40))  # what a plugin says the step is (the hall's hall.step)
    priority: Mapped[int] = mapped_column(sa.Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    due_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    completed_by: Mapped[str | None] = mapped_column(sa.String(64))
    light: Mapped[str | None] = mapped_column(sa.String(10))  # the step's supervision light while open
    # From when the supervision sweep needs to look at a green step: it cannot turn yellow before this.
    watch_from: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # the clerk this task goes back to when they return from an absence (their released claim, or the owner's step)
    return_to: Mapped[str | None] = mapped_column(sa.String(64))
    # loaded when asked for (lists load them with their tasks): most checks decide on `post` and `home_post`
    candidates: Mapped[list[TaskCandidate]] = relationship(lazy="select", viewonly=True)

    @property
    def other_posts(self) -> list[str]:
        """Further posts where the task may be worked (its diagram's further candidate groups)."""
        return sorted(c.post for c in self.candidates)


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
    __table_args__ = (sa.Index("ix_task_candidate_post", "post", "task_id"),)

    task_id: Mapped[str] = mapped_column(sa.ForeignKey("user_task.id", ondelete="CASCADE"), primary_key=True)
    post: Mapped[str] = mapped_column(sa.String(100), primary_key=True)


# -- timers ----------------------------------------------------------------------------------------------------
TIMER_STATES = ("waiting", "fired", "cancelled", "failed", "resolved")  # resolved: a failed one closed by ops


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
