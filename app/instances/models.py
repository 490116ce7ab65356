"""Cases (process instances): the serialized engine state and what lists need, in one row."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..models_base import UtcDateTime

STATES = ("running", "completed", "cancelled", "error", "suspended")  # suspended: with its definition (ops)
OPEN_BUSINESS_KEY = "uq_process_instance_open_business_key"
_OPEN = "business_key IS NOT NULL AND matter_code IS NOT NULL AND state IN ('running', 'suspended', 'error')"


class ProcessInstance(db.Model):
    __tablename__ = "process_instance"
    __table_args__ = (
        sa.Index("ix_process_instance_key_state", "process_key", "state"),
        # intake: one open case per business key and matter; the race between two starts ends at this index
        sa.Index(OPEN_BUSINESS_KEY, "matter_code", "business_key", unique=True,
                 sqlite_where=sa.text(_OPEN), postgresql_where=sa.text(_OPEN)),
    )

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    definition_id: Mapped[int] = mapped_column(sa.ForeignKey("process_definition.id"), index=True)
    process_key: Mapped[str] = mapped_column(sa.String(200))
    business_key: Mapped[str | None] = mapped_column(sa.String(200), index=True)
    state: Mapped[str] = mapped_column(sa.String(20), index=True)
    data: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    engine_state: Mapped[str] = mapped_column(sa.Text, deferred=True)  # read only when the live case is not cached
    error: Mapped[str | None] = mapped_column(sa.Text)
    started_by: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    version: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    # 首问负责制: the clerk who accepted the case, and the window post where they did it
    owner: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    owner_post: Mapped[str | None] = mapped_column(sa.String(100))
    # The case clock and supervision (see app/supervision): filled for cases of a catalogued matter.
    matter_code: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    department_code: Mapped[str | None] = mapped_column(sa.String(32), index=True)
    window_no: Mapped[int | None] = mapped_column(sa.Integer, index=True)  # the acceptor's window
    green_channel: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())
    received_on: Mapped[date | None] = mapped_column(sa.Date)  # 收件 date in Asia/Shanghai: the clock starts here
    promised_days: Mapped[int | None] = mapped_column(sa.Integer)  # the limit this case runs under
    paused_days: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    paused_since: Mapped[datetime | None] = mapped_column(UtcDateTime())
    due_date: Mapped[date | None] = mapped_column(sa.Date, index=True)
    outcome: Mapped[str | None] = mapped_column(sa.String(30), index=True)
    working_days_used: Mapped[int | None] = mapped_column(sa.Integer)
    on_time: Mapped[bool | None] = mapped_column(sa.Boolean)
    light: Mapped[str | None] = mapped_column(sa.String(10), index=True)  # green | yellow | red; None once closed
    supplement_count: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    # 延期 (Art. 42): the working days added with the head's approval, once, by whom, when and why
    extended_days: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    extended_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    extended_by: Mapped[str | None] = mapped_column(sa.String(64))
    extension_reason: Mapped[str | None] = mapped_column(sa.Text)
    # 上报 (Art. 43): when the case went to the higher authority, whether the district clock ended or paused
    # there, and when the reply came (the higher authority's time is not the district's)
    forwarded_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    forward_clock: Mapped[str | None] = mapped_column(sa.String(10))
    replied_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime())  # Art. 44: delivery within 10 days of it
    # Art. 32: no supplement notice within 5 working days of receipt: the application counts as accepted on receipt
    accepted_on_receipt: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())
    # intake (hall/intake.py): {region}{department letters}{yyyyMMdd}{serial}, unique
    case_number: Mapped[str | None] = mapped_column(sa.String(40), unique=True)

    # Optimistic locking: every UPDATE checks the version it read; a concurrent writer loses with 409.
    __mapper_args__ = {"version_id_col": version}


class CaseIntake(db.Model):
    """What the window records on receiving a case (收件): the applicant, the query code's digest, the checklist."""

    __tablename__ = "case_intake"

    instance_id: Mapped[str] = mapped_column(sa.ForeignKey("process_instance.id"), primary_key=True)
    applicant_kind: Mapped[str | None] = mapped_column(sa.String(20))  # person | organisation
    applicant_name: Mapped[str | None] = mapped_column(sa.String(200), index=True)
    id_type: Mapped[str | None] = mapped_column(sa.String(30))
    id_number: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    phone: Mapped[str | None] = mapped_column(sa.String(30))
    address: Mapped[str | None] = mapped_column(sa.String(300))
    legal_representative: Mapped[str | None] = mapped_column(sa.String(100))
    agent_name: Mapped[str | None] = mapped_column(sa.String(100))
    agent_id_type: Mapped[str | None] = mapped_column(sa.String(30))
    agent_id_number: Mapped[str | None] = mapped_column(sa.String(64))
    agent_phone: Mapped[str | None] = mapped_column(sa.String(30))
    # sha256 of the query code: enough to check one, nothing to print it from
    query_code_digest: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    query_code_set_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    received_materials: Mapped[list] = mapped_column(sa.JSON, default=list)  # the acceptance checklist
    missing_materials: Mapped[list] = mapped_column(sa.JSON, default=list)  # derived at 补正 (一次性告知)
