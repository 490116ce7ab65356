"""Column helpers shared by the models."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator):
    """Stores UTC; always hands back timezone-aware UTC datetimes, on SQLite as on PostgreSQL."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def row_dict(obj, exclude: tuple[str, ...] = ()) -> dict:
    """A model object's column values as a plain dict: still readable after the session commits."""
    return {c.key: getattr(obj, c.key) for c in obj.__table__.columns if c.key not in exclude}


def paged(query, *order_by, limit: int, offset: int, count_cap: int | None = None) -> tuple[list, int]:
    """One page of a select's rows in the given order, and how many rows there are in all — or, with
    `count_cap`, up to `count_cap + 1` of them (more than the cap: the count stops there, it never walks a
    million rows to print a number nobody pages to)."""
    from .extensions import db

    counted = query.order_by(None)
    if count_cap is not None:
        counted = counted.limit(count_cap + 1)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(counted.subquery()))
    return list(db.session.scalars(query.order_by(*order_by).limit(limit).offset(offset))), total


def utcnow() -> datetime:
    from .clock import now
    return now()
