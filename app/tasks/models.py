"""User tasks as rows: lists are index lookups, never scans of serialized workflows."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..models_base import UtcDateTime

STATES = ("open", "completed", "cancelled")


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
