"""Cases (process instances): the serialized engine state and what lists need, in one row."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..models_base import UtcDateTime

STATES = ("running", "completed", "cancelled", "error")


class ProcessInstance(db.Model):
    __tablename__ = "process_instance"
    __table_args__ = (sa.Index("ix_process_instance_key_state", "process_key", "state"),)

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    definition_id: Mapped[int] = mapped_column(sa.ForeignKey("process_definition.id"), index=True)
    process_key: Mapped[str] = mapped_column(sa.String(200))
    business_key: Mapped[str | None] = mapped_column(sa.String(200), index=True)
    state: Mapped[str] = mapped_column(sa.String(20), index=True)
    data: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    engine_state: Mapped[str] = mapped_column(sa.Text)
    error: Mapped[str | None] = mapped_column(sa.Text)
    started_by: Mapped[str | None] = mapped_column(sa.String(64))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    version: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    # 首问负责制: the clerk who accepted the case, and the window post where they did it
    owner: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    owner_post: Mapped[str | None] = mapped_column(sa.String(100))

    # Optimistic locking: every UPDATE checks the version it read; a concurrent writer loses with 409.
    __mapper_args__ = {"version_id_col": version}
