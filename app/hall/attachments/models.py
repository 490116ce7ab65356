"""Attachments and comments, keyed by case and (optionally) task; the bytes are in attachments.storage."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ...extensions import db
from ...models_base import UtcDateTime


class Attachment(db.Model):
    __tablename__ = "case_attachment"
    __table_args__ = (sa.Index("ix_case_attachment_instance", "instance_id", "id"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    instance_id: Mapped[str] = mapped_column(sa.ForeignKey("process_instance.id"))
    task_id: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    material: Mapped[str | None] = mapped_column(sa.String(200))  # the matter's material it is a scan of
    filename: Mapped[str] = mapped_column(sa.String(255))
    content_type: Mapped[str] = mapped_column(sa.String(100))  # detected from the content, never the name
    size: Mapped[int] = mapped_column(sa.Integer)
    sha256: Mapped[str] = mapped_column(sa.String(64))  # also its storage key
    uploaded_by: Mapped[str | None] = mapped_column(sa.String(64))
    uploaded_at: Mapped[datetime] = mapped_column(UtcDateTime())
    note: Mapped[str | None] = mapped_column(sa.String(500))


class Comment(db.Model):
    __tablename__ = "case_comment"
    __table_args__ = (sa.Index("ix_case_comment_instance", "instance_id", "id"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    instance_id: Mapped[str] = mapped_column(sa.ForeignKey("process_instance.id"))
    task_id: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    reply_to: Mapped[int | None] = mapped_column(sa.ForeignKey("case_comment.id"))
    author: Mapped[str] = mapped_column(sa.String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    text: Mapped[str] = mapped_column(sa.Text)
