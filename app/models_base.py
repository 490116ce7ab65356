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


def paged(query, *order_by, limit: int, offset: int) -> tuple[list, int]:
    """One page of a select's rows in the given order, and how many rows there are in all."""
    from .extensions import db

    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.order_by(None).subquery()))
    return list(db.session.scalars(query.order_by(*order_by).limit(limit).offset(offset))), total


def utcnow() -> datetime:
    from .clock import now
    return now()
