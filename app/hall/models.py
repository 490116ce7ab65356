"""The hall wing's own tables, keyed by the runtime's case and task ids. The runtime never reads or writes them;
the hall writes them in the step's own transaction (its step hooks), or under the case's lock (延期), and never
touches the runtime's rows — so a hall write never bumps a case's version.

* `hall_case`: a matter's case as the hall knows it — its number, matter and owner (首问负责制), and its two
  clocks: the decision's (受理 → 决定, the promised limit, pauses, 延期) and the delivery's (Art. 44);
* `hall_task`: a step as the hall knows it — its role in the case's course, supervision light;
* `case_intake`: what the window recorded on receiving the case (the applicant, the query code, materials);
* `case_event`: the case's legal course, append-only (see `course.py`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..models_base import UtcDateTime

OPEN_BUSINESS_KEY = "uq_hall_case_open_business_key"
_OPEN = "business_key IS NOT NULL AND is_open"
# the supervision sweep's next look at a row: a date at or before today means "look now"; NULL, never (until a
# write that could change its outcome sets it to this again)
LOOK_NOW = date(2000, 1, 1)
LOOK_NOW_AT = datetime(2000, 1, 1, tzinfo=UTC)  # the same for a step's light (`hall_task.watch_from`)


class HallCase(db.Model):
    __tablename__ = "hall_case"
    __table_args__ = (
        # intake: one open case per business key and matter; the race between two starts ends at this index
        sa.Index(OPEN_BUSINESS_KEY, "matter_code", "business_key", unique=True,
                 sqlite_where=sa.text(_OPEN), postgresql_where=sa.text(_OPEN)),
        sa.Index("ix_hall_case_open_light", "is_open", "light"),
        sa.Index("ix_hall_case_received_window", "received_on", "window_no"),
        sa.Index("ix_hall_case_received_department", "received_on", "department_code"),
        sa.Index("ix_hall_case_received_matter", "received_on", "matter_code"),
        # the sweep visits only the open cases whose light (or spent pause) can change today
        sa.Index("ix_hall_case_open_look", "look_on", sqlite_where=sa.text("is_open"),
                 postgresql_where=sa.text("is_open")),
    )

    instance_id: Mapped[str] = mapped_column(sa.ForeignKey("process_instance.id", ondelete="CASCADE"),
                                             primary_key=True)
    matter_code: Mapped[str | None] = mapped_column(sa.String(64), index=True)  # None: no matter's (an owner only)
    # the version of the matter's record (matter_version) in force when the case was received: its promised limit
    matter_version: Mapped[int | None] = mapped_column(sa.Integer)
    department_code: Mapped[str | None] = mapped_column(sa.String(32), index=True)
    case_number: Mapped[str | None] = mapped_column(sa.String(40), unique=True)  # {region}{letters}{yyyyMMdd}{serial}
    business_key: Mapped[str | None] = mapped_column(sa.String(200))
    is_open: Mapped[bool] = mapped_column(sa.Boolean, default=True, server_default=sa.true())
    green_channel: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())
    # 首问负责制: the clerk who accepted the case, the window post where they did it, and its window
    owner: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    owner_post: Mapped[str | None] = mapped_column(sa.String(100))
    window_no: Mapped[int | None] = mapped_column(sa.Integer, index=True)
    # the decision's clock (Art. 42): 收件, then 受理 (or 视为受理, Art. 32) to 决定, in working days
    received_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    received_on: Mapped[date | None] = mapped_column(sa.Date)  # 收件 date in Asia/Shanghai
    accepted_on: Mapped[date | None] = mapped_column(sa.Date)  # 受理 (视为受理: the receipt date): the limit counts from it
    promised_days: Mapped[int | None] = mapped_column(sa.Integer)  # the limit this case runs under
    paused_days: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    paused_since: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # a special procedure's pause (Art. 45): its task, the working days it may stop the clock (its bound, plus a
    # second notice's extension; None: unbounded), and that extension; the task stays set once its bound is spent
    pause_task_id: Mapped[str | None] = mapped_column(sa.String(36))
    pause_limit: Mapped[int | None] = mapped_column(sa.Integer)
    pause_extended_days: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    due_date: Mapped[date | None] = mapped_column(sa.Date, index=True)
    light: Mapped[str | None] = mapped_column(sa.String(10))  # green | yellow | red while the clock runs
    supplement_count: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    accepted_on_receipt: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())
    # 延期 (Art. 42): the working days added with the head's approval, once, by whom, when and why
    extended_days: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    extended_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    extended_by: Mapped[str | None] = mapped_column(sa.String(64))
    extension_reason: Mapped[str | None] = mapped_column(sa.Text)
    # 上报 (Art. 43): when the case went to the higher authority, the district clock then, and the reply
    forwarded_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    forward_clock: Mapped[str | None] = mapped_column(sa.String(10))
    replied_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # 决定: when, what (the outcome it sets) and by whom (the deciding authority)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    decision: Mapped[str | None] = mapped_column(sa.String(30))
    decided_by: Mapped[str | None] = mapped_column(sa.String(64))
    deciding_authority: Mapped[str | None] = mapped_column(sa.String(200))
    # 送达 (Art. 44): its own limit and light, from the decision
    delivery_due: Mapped[date | None] = mapped_column(sa.Date)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # how it ended in law (the decision, 不予受理, 补正超时终止, 撤回…), and the decision clock's figures
    outcome: Mapped[str | None] = mapped_column(sa.String(30), index=True)
    working_days_used: Mapped[int | None] = mapped_column(sa.Integer)
    on_time: Mapped[bool | None] = mapped_column(sa.Boolean)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # the first date its light can change, or its special procedure's pause be spent (the sweep's, see LOOK_NOW);
    # a write to what it depends on sets it to LOOK_NOW (`_look_again` below)
    look_on: Mapped[date | None] = mapped_column(sa.Date, default=LOOK_NOW, server_default=LOOK_NOW.isoformat())


class HallTask(db.Model):
    """A step as the hall knows it: its role (`hall.step`), supervision light and the
    moment the sweep needs to look at it (it cannot turn yellow before)."""

    __tablename__ = "hall_task"
    __table_args__ = (
        sa.Index("ix_hall_task_watch", "light", "watch_from"),
        sa.Index("ix_hall_task_role", "role"),
        # the supervision sweep reads open steps only, through these: their size is today's work, not history
        sa.Index("ix_hall_task_open_watch", "light", "watch_from", sqlite_where=sa.text("is_open"),
                 postgresql_where=sa.text("is_open")),
        sa.Index("ix_hall_task_open_role", "role", "look_on", sqlite_where=sa.text("is_open"),
                 postgresql_where=sa.text("is_open")),
    )

    task_id: Mapped[str] = mapped_column(sa.ForeignKey("user_task.id", ondelete="CASCADE"), primary_key=True)
    instance_id: Mapped[str] = mapped_column(sa.ForeignKey("process_instance.id", ondelete="CASCADE"), index=True)
    role: Mapped[str | None] = mapped_column(sa.String(40))
    light: Mapped[str | None] = mapped_column(sa.String(10))
    # the moment its light can next change: turning yellow (green), red (yellow); LOOK_NOW_AT: look now
    watch_from: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # the first date the sweep's date-granular rules for its role (Art. 32, 43, 44, 45) can change their verdict
    look_on: Mapped[date | None] = mapped_column(sa.Date, default=LOOK_NOW, server_default=LOOK_NOW.isoformat())
    # False from the step that completed or cancelled the task (hall plugin, in that step's transaction)
    is_open: Mapped[bool] = mapped_column(sa.Boolean, default=True, server_default=sa.true())


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


class HallSetting(db.Model):
    """The hall's legal setting from hall.yaml: `district` (its government and court, whom notices name for
    行政复议 and 行政诉讼) and `authorities` (the higher authorities 上报件 go to)."""

    __tablename__ = "hall_setting"

    key: Mapped[str] = mapped_column(sa.String(60), primary_key=True)
    value: Mapped[dict | list] = mapped_column(sa.JSON)


class CaseEvent(db.Model):
    """One event of a case's legal course (收件, 受理, 补正告知, 决定, 送达, 办结…): append-only, written in the
    transaction of the step (or the act) that made it happen."""

    __tablename__ = "case_event"
    __table_args__ = (
        sa.Index("ix_case_event_instance", "instance_id", "id"),
        sa.Index("ix_case_event_kind_at", "kind", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[str] = mapped_column(sa.ForeignKey("process_instance.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(40))
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    actor: Mapped[str | None] = mapped_column(sa.String(64))
    post: Mapped[str | None] = mapped_column(sa.String(100))
    task_id: Mapped[str | None] = mapped_column(sa.String(36))
    element_id: Mapped[str | None] = mapped_column(sa.String(200))
    data: Mapped[dict] = mapped_column(sa.JSON, default=dict)


# what a case's light or pause depends on: a write to any of them and the sweep looks at the case again
_LIGHT_INPUTS = ("due_date", "paused_since", "pause_limit", "promised_days", "light", "is_open")


def _look_again(case: HallCase, value, old, initiator) -> None:
    closed = (value is False) if initiator.key == "is_open" else case.is_open is False
    case.look_on = None if closed else LOOK_NOW  # a closed case is never looked at again


for _name in _LIGHT_INPUTS:
    sa.event.listen(getattr(HallCase, _name), "set", _look_again)
