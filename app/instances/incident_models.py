"""Steps that could not be taken: the case stayed where it was, and ops should know why."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..models_base import UtcDateTime


class StepIncident(db.Model):
    """A step refused for a reason the caller cannot fix: its case's new state could not be saved (data that is
    not JSON), or it reached a decision that is not deployed. The case row is unchanged; repeated attempts of the
    same step count on one open row. Once the case has moved on (its row's version is past `case_version`), a later
    step went through and the incident is over."""

    __tablename__ = "step_incident"
    __table_args__ = (sa.Index("ix_step_incident_state_instance", "state", "instance_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # None when the step was the start of a case: no case exists
    instance_id: Mapped[str | None] = mapped_column(sa.ForeignKey("process_instance.id", ondelete="CASCADE"))
    process_key: Mapped[str | None] = mapped_column(sa.String(200))
    case_version: Mapped[int | None] = mapped_column(sa.Integer)  # the case row's version the step started from
    element_id: Mapped[str | None] = mapped_column(sa.String(200))
    code: Mapped[str] = mapped_column(sa.String(40))  # case_not_saved | decision_not_deployed
    action: Mapped[str] = mapped_column(sa.String(60))  # what was attempted: task.completed, message.delivered...
    error: Mapped[str] = mapped_column(sa.Text)
    details: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    actor: Mapped[str | None] = mapped_column(sa.String(64))
    attempts: Mapped[int] = mapped_column(sa.Integer, default=1)
    first_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_at: Mapped[datetime] = mapped_column(UtcDateTime())
    state: Mapped[str] = mapped_column(sa.String(20), default="open")  # open | resolved
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    resolved_by: Mapped[str | None] = mapped_column(sa.String(64))
    note: Mapped[str | None] = mapped_column(sa.Text)
