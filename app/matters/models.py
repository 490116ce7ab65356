"""One row per matter (事项): its public record (九公开) as loaded from the catalog yaml, and its history: one
`matter_version` row per change of the record (a deploy or seed that changes the yaml, or an update through the
API), with the date it takes effect, who changed it and why."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..models_base import UtcDateTime

KINDS = ("immediate", "promised", "joint", "reported")
KIND_NAMES = {"immediate": "即办件", "promised": "承诺件", "joint": "联办件", "reported": "上报件"}
TYPES = {"行政许可": "XK", "行政确认": "QR", "行政裁决": "CJ", "行政给付": "JF", "行政奖励": "JL",
         "行政备案": "BA", "其他行政权力": "QT", "公共服务": "GG"}


class Matter(db.Model):
    __tablename__ = "matter"

    code: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    type: Mapped[str] = mapped_column(sa.String(20))
    department_code: Mapped[str] = mapped_column(sa.String(32), index=True)
    kind: Mapped[str] = mapped_column(sa.String(20), index=True)
    co_departments: Mapped[list] = mapped_column(sa.JSON, default=list)
    higher_authority: Mapped[str | None] = mapped_column(sa.String(200))
    statutory_days: Mapped[int] = mapped_column(sa.Integer)
    promised_days: Mapped[int] = mapped_column(sa.Integer)
    # in force from / cancelled on (a cancelled matter stays in the catalog, not offered for new cases)
    effective_from: Mapped[date | None] = mapped_column(sa.Date)
    cancelled_on: Mapped[date | None] = mapped_column(sa.Date)
    acceptance_conditions: Mapped[str] = mapped_column(sa.Text)
    materials: Mapped[list] = mapped_column(sa.JSON, default=list)
    fee_charged: Mapped[bool] = mapped_column(default=False)
    fee_basis: Mapped[str] = mapped_column(sa.Text)
    fee_standard: Mapped[str] = mapped_column(sa.Text)
    result: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    legal_basis: Mapped[list] = mapped_column(sa.JSON, default=list)
    procedure: Mapped[list] = mapped_column(sa.JSON, default=list)
    special_procedures: Mapped[list] = mapped_column(sa.JSON, default=list)
    place: Mapped[str | None] = mapped_column(sa.String(300))
    hours: Mapped[str | None] = mapped_column(sa.String(300))
    visits: Mapped[int | None] = mapped_column(sa.Integer)
    consultation: Mapped[str | None] = mapped_column(sa.String(500))
    complaint: Mapped[str | None] = mapped_column(sa.String(500))
    online: Mapped[bool] = mapped_column(default=False)
    green_channel: Mapped[bool] = mapped_column(default=False)
    process_key: Mapped[str] = mapped_column(sa.String(200), index=True)
    record: Mapped[dict] = mapped_column(sa.JSON, default=dict)  # the whole yaml, as loaded
    filename: Mapped[str] = mapped_column(sa.String(300))
    checksum: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_by: Mapped[str | None] = mapped_column(sa.String(64))
    # the version of the record this row holds (in force since its effective_from); None before any was kept
    version: Mapped[int | None] = mapped_column(sa.Integer)


class MatterVersion(db.Model):
    """One version of a matter's record: the whole record as JSON, its limits as columns (the speed-up report reads
    them), when it takes effect (Asia/Shanghai date), who changed it, why, and when.

    A version takes effect on `effective_from`: until then it is pending (`applied_at` None) and the matter row
    keeps the record in force; a case is received under the version in force on its receipt date.
    """

    __tablename__ = "matter_version"
    __table_args__ = (sa.Index("ix_matter_version_code_version", "matter_code", "version", unique=True),
                      sa.Index("ix_matter_version_pending", "applied_at", "effective_from"))

    id: Mapped[int] = mapped_column(primary_key=True)
    matter_code: Mapped[str] = mapped_column(sa.ForeignKey("matter.code", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(sa.Integer)
    record: Mapped[dict] = mapped_column(sa.JSON)
    promised_days: Mapped[int] = mapped_column(sa.Integer)
    statutory_days: Mapped[int] = mapped_column(sa.Integer)
    effective_from: Mapped[date] = mapped_column(sa.Date)
    changed_by: Mapped[str | None] = mapped_column(sa.String(64))
    reason: Mapped[str] = mapped_column(sa.Text)
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime())
    applied_at: Mapped[datetime | None] = mapped_column(UtcDateTime())  # became the matter row's record; None: pending
