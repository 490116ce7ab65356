"""The administrators' calendar entries: single days that override chinesecalendar, and fully entered years."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..models_base import UtcDateTime

KINDS = ("holiday", "workday")


class CalendarDay(db.Model):
    """One day entered by an administrator: a holiday or a working day (调休), whatever chinesecalendar says."""

    __tablename__ = "calendar_day"
    date: Mapped[dt.date] = mapped_column(sa.Date, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(sa.String(10))
    name: Mapped[str | None] = mapped_column(sa.String(100))
    updated_by: Mapped[str | None] = mapped_column(sa.String(64))
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class CalendarYear(db.Model):
    """A year whose whole schedule administrators have entered: only its entries count, no fallback rule."""

    __tablename__ = "calendar_year"
    year: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    complete: Mapped[bool] = mapped_column(default=False)
    updated_by: Mapped[str | None] = mapped_column(sa.String(64))
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
