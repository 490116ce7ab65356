"""Which cases wait for which BPMN message: delivery looks these rows up by name."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class MessageSubscription(db.Model):
    __tablename__ = "message_subscription"
    __table_args__ = (sa.Index("ix_message_subscription_name_bk", "name", "business_key"),
                      sa.Index("ix_message_subscription_kind_name", "kind", "name"))

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[str] = mapped_column(sa.ForeignKey("process_instance.id", ondelete="CASCADE"), index=True)
    task_id: Mapped[str] = mapped_column(sa.String(36))
    element_id: Mapped[str] = mapped_column(sa.String(200))
    name: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[str] = mapped_column(sa.String(10), default="message", server_default="message")  # message | signal
    business_key: Mapped[str | None] = mapped_column(sa.String(200))
