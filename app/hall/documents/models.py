"""One row per notice issued: its kind, number, date, the step that issued it, and the data it was made from."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ...extensions import db
from ...models_base import UtcDateTime


class Document(db.Model):
    __tablename__ = "document"
    __table_args__ = (sa.Index("ix_document_instance", "instance_id", "id"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    instance_id: Mapped[str] = mapped_column(sa.ForeignKey("process_instance.id"))
    kind: Mapped[str] = mapped_column(sa.String(30))
    title: Mapped[str] = mapped_column(sa.String(100))
    number: Mapped[str] = mapped_column(sa.String(80), unique=True)  # 发改局受〔2026〕12号
    year: Mapped[int] = mapped_column(sa.Integer)
    serial: Mapped[int] = mapped_column(sa.Integer)
    department_code: Mapped[str | None] = mapped_column(sa.String(32))
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime())
    issued_by: Mapped[str | None] = mapped_column(sa.String(64))
    element_id: Mapped[str | None] = mapped_column(sa.String(200))
    task_id: Mapped[str | None] = mapped_column(sa.String(64))
    # everything printed on it (applicant, matter, case number, reasons, materials...): the PDF is made from this
    data: Mapped[dict] = mapped_column(sa.JSON, default=dict)
