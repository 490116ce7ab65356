"""The append-only audit trail: every engine step and every user action."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..models_base import UtcDateTime


class AuditEntry(db.Model):
    __tablename__ = "audit_entry"
    __table_args__ = (sa.Index("ix_audit_entry_instance_id", "instance_id", "id"),)

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    instance_id: Mapped[str | None] = mapped_column(sa.String(32))
    task_id: Mapped[str | None] = mapped_column(sa.String(36))
    element_id: Mapped[str | None] = mapped_column(sa.String(200))
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    actor: Mapped[str | None] = mapped_column(sa.String(64))
    action: Mapped[str] = mapped_column(sa.String(50))
    details: Mapped[dict] = mapped_column(sa.JSON, default=dict)
