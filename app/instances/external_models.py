"""External tasks: service tasks of running cases waiting for a worker (Camunda's external task model).

One row per waiting service task, written by the case's step (runtime.save, `rows.sync`) in the step's own
transaction, so a row exists exactly while the engine waits for it. Workers fetch and lock open rows by topic
(`SELECT ... FOR UPDATE SKIP LOCKED` on PostgreSQL), and complete, fail or throw a BPMN error through the case.
Finished rows stay (state `completed`, `error` for a BPMN error, `cancelled` when the case moved on without it).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..models_base import UtcDateTime

STATES = ("open", "completed", "error", "cancelled")


class ExternalTask(db.Model):
    __tablename__ = "external_task"
    __table_args__ = (
        # fetchAndLock: open tasks of a topic, unlocked or with an expired lock, by priority and age
        sa.Index("ix_external_task_fetch", "state", "topic", "lock_expiration"),
        sa.Index("ix_external_task_instance_state", "instance_id", "state"),
        sa.Index("ix_external_task_worker", "worker_id"),
    )

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)  # the engine's task id
    instance_id: Mapped[str] = mapped_column(sa.ForeignKey("process_instance.id", ondelete="CASCADE"))
    definition_id: Mapped[int] = mapped_column(sa.Integer)
    process_key: Mapped[str] = mapped_column(sa.String(200))  # the case's process (definition) key
    business_key: Mapped[str | None] = mapped_column(sa.String(200))
    element_id: Mapped[str] = mapped_column(sa.String(200))
    name: Mapped[str] = mapped_column(sa.String(300))
    topic: Mapped[str] = mapped_column(sa.String(300))
    priority: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    state: Mapped[str] = mapped_column(sa.String(20), default="open")
    worker_id: Mapped[str | None] = mapped_column(sa.String(255))
    lock_expiration: Mapped[datetime | None] = mapped_column(UtcDateTime())
    retries: Mapped[int | None] = mapped_column(sa.Integer)  # None until a worker reports a failure (Camunda)
    error_message: Mapped[str | None] = mapped_column(sa.Text)
    error_details: Mapped[str | None] = mapped_column(sa.Text)
    local_variables: Mapped[dict | None] = mapped_column(sa.JSON)  # a multi-instance's item for this instance
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
