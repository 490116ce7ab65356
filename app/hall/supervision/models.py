"""The case clock's history and electronic supervision's warnings (电子监察)."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ...extensions import db
from ...models_base import UtcDateTime


class ClockEvent(db.Model):
    """start | pause | resume | stop of a case's clock, with the due date it leaves."""

    __tablename__ = "clock_event"
    __table_args__ = (sa.Index("ix_clock_event_instance", "instance_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[str] = mapped_column(sa.ForeignKey("process_instance.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    kind: Mapped[str] = mapped_column(sa.String(20))
    reason: Mapped[str | None] = mapped_column(sa.String(200))
    element_id: Mapped[str | None] = mapped_column(sa.String(200))
    working_days: Mapped[int | None] = mapped_column(sa.Integer)  # a resume: how many working days the pause took
    due_date: Mapped[date | None] = mapped_column(sa.Date)


class SupervisionWarning(db.Model):
    """A yellow or red light, or a rule broken (refusal without reasons, late first review), until handled."""

    __tablename__ = "supervision_warning"
    __table_args__ = (
        sa.Index("ix_supervision_warning_state_level", "state", "level"),
        sa.Index("ix_supervision_warning_instance", "instance_id"),
        sa.Index("ix_supervision_warning_department", "department_code", "state"),
        sa.Index("ix_supervision_warning_post_state", "post", "state", "raised_at"),
        sa.Index("ix_supervision_warning_open", "id", sqlite_where=sa.text("state = 'open'"),
                 postgresql_where=sa.text("state = 'open'")),  # the sweep's safety net, a slice at a time
        sa.Index("ix_supervision_warning_open_raised", "raised_at", "id", sqlite_where=sa.text("state = 'open'"),
                 postgresql_where=sa.text("state = 'open'")),  # the list's newest open warnings first
        sa.Index("ix_supervision_warning_open_task", "task_id", "kind", sqlite_where=sa.text("state = 'open'"),
                 postgresql_where=sa.text("state = 'open'")),  # the sweep's "not warned yet" of a step
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[str] = mapped_column(sa.ForeignKey("process_instance.id", ondelete="CASCADE"))
    task_id: Mapped[str | None] = mapped_column(sa.String(36))
    kind: Mapped[str] = mapped_column(sa.String(40))  # case_yellow | case_red | step_yellow | step_red | ...
    level: Mapped[str] = mapped_column(sa.String(10))  # yellow | red
    department_code: Mapped[str | None] = mapped_column(sa.String(32))
    post: Mapped[str | None] = mapped_column(sa.String(100))  # the supervisor post it is escalated to
    message: Mapped[str] = mapped_column(sa.Text)
    raised_at: Mapped[datetime] = mapped_column(UtcDateTime())
    state: Mapped[str] = mapped_column(sa.String(10), default="open")  # open | closed
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    closed_by: Mapped[str | None] = mapped_column(sa.String(64))
    note: Mapped[str | None] = mapped_column(sa.Text)
