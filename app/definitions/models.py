"""Deployed process (and decision) definitions: every version kept."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..models_base import UtcDateTime


class ProcessDefinition(db.Model):
    __tablename__ = "process_definition"
    __table_args__ = (sa.UniqueConstraint("key", "version", name="uq_process_definition_key_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(200), index=True)
    version: Mapped[int] = mapped_column(sa.Integer)
    kind: Mapped[str] = mapped_column(sa.String(10), default="bpmn")  # bpmn | dmn
    name: Mapped[str] = mapped_column(sa.String(300))
    filename: Mapped[str] = mapped_column(sa.String(300))
    content: Mapped[str] = mapped_column(sa.Text)
    checksum: Mapped[str] = mapped_column(sa.String(64))
    depends_on: Mapped[list] = mapped_column(sa.JSON, default=list)  # ids of the DMN versions it was built with
    timer_start: Mapped[bool] = mapped_column(default=False)
    deployed_at: Mapped[datetime] = mapped_column(UtcDateTime())
    deployed_by: Mapped[str | None] = mapped_column(sa.String(64))


class EventStart(db.Model):
    """A version whose process starts on a message or signal: delivery finds it by (kind, name)."""

    __tablename__ = "event_start"
    __table_args__ = (sa.Index("ix_event_start_kind_name", "kind", "name"),
                      sa.Index("ix_event_start_definition", "definition_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    definition_id: Mapped[int] = mapped_column(sa.ForeignKey("process_definition.id", ondelete="CASCADE"))
    process_key: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[str] = mapped_column(sa.String(10))  # message | signal
    name: Mapped[str] = mapped_column(sa.String(200))
