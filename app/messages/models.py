"""Which cases wait for which BPMN message: delivery looks these rows up by name (the subscriptions are defined with
the case's other rows in app/instances/models.py, written by the runtime); the correlation keys a waiting message
declares and the conversations of a collaboration's cases are the message service's own (correlation.py)."""

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..instances.models import MessageSubscription

__all__ = ["CaseConversation", "MessageSubscription", "SubscriptionCorrelation"]


class SubscriptionCorrelation(db.Model):
    """A waiting message's declared correlation keys (bpmn:correlationKey): a message thrown with the same value
    of one of its keys is for this case. One row per key of the (sub)process that waits."""

    __tablename__ = "subscription_correlation"
    __table_args__ = (sa.Index("ix_subscription_correlation_key", "key", "value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[str] = mapped_column(sa.ForeignKey("process_instance.id", ondelete="CASCADE"), index=True)
    task_id: Mapped[str] = mapped_column(sa.String(36))
    name: Mapped[str] = mapped_column(sa.String(200))  # the message awaited
    key: Mapped[str] = mapped_column(sa.String(200))
    value: Mapped[str] = mapped_column(sa.String(1000))  # the key's properties as sorted JSON


class CaseConversation(db.Model):
    """A case started by a message another case threw belongs to that case's conversation: the messages its
    pools exchange afterwards find each other without a business key (the implicit correlation of a
    collaboration). The conversation is named by the case that began it."""

    __tablename__ = "case_conversation"

    instance_id: Mapped[str] = mapped_column(sa.ForeignKey("process_instance.id", ondelete="CASCADE"),
                                             primary_key=True)
    conversation_id: Mapped[str] = mapped_column(sa.String(32), index=True)
    started_by: Mapped[str] = mapped_column(sa.String(32))  # the case whose message started this one
