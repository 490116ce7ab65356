"""Waiting BPMN timers, indexed by due time: the scheduler's cost follows the due timers only."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..models_base import UtcDateTime

# fired: the engine ran it; cancelled: its step ended before it was due; superseded: it was due, but another step
# (a completion, a cancel) ended its step first; failed: an incident; resolved: a failed one closed by ops
STATES = ("waiting", "fired", "cancelled", "superseded", "failed", "resolved")


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
