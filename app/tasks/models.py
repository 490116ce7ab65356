"""User tasks as rows: lists are index lookups, never scans of serialized workflows."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

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
