"""JSON Schema forms of user tasks, versioned like definitions."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..models_base import UtcDateTime


class Form(db.Model):
    __tablename__ = "form"
    __table_args__ = (sa.UniqueConstraint("key", "version", name="uq_form_key_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(200), index=True)
    version: Mapped[int] = mapped_column(sa.Integer)
    schema: Mapped[dict] = mapped_column(sa.JSON)
    checksum: Mapped[str] = mapped_column(sa.String(64))
    deployed_at: Mapped[datetime] = mapped_column(UtcDateTime())
    deployed_by: Mapped[str | None] = mapped_column(sa.String(64))
