"""Gap-free serial numbers (case numbers, notice numbers) from counter rows, safe under concurrent writers.

`next_serial(scope)` is one upsert in the caller's transaction: INSERT the scope at 1, or ON CONFLICT increment it,
RETURNING the value. The upsert takes the row's lock, so a concurrent transaction waits for this one to commit and
then reads the new value (PostgreSQL; two that insert a new scope at once queue on its key the same way); SQLite
has one writer at a time anyway. A step that fails rolls its increment back with it: numbers have no gaps.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from .extensions import db


class SerialCounter(db.Model):
    __tablename__ = "serial_counter"

    scope: Mapped[str] = mapped_column(sa.String(120), primary_key=True)  # e.g. case:FG:20261125
    value: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)


_TABLE = SerialCounter.__table__


def _upsert(insert) -> sa.Insert:
    return (insert(_TABLE).values(scope=sa.bindparam("scope"), value=1)
            .on_conflict_do_update(index_elements=["scope"], set_={"value": _TABLE.c.value + 1})
            .returning(_TABLE.c.value))


# built once per dialect: on a hot path, building a statement costs SQLAlchemy more than running it
_UPSERTS = {"postgresql": _upsert(postgresql.insert), "sqlite": _upsert(sqlite.insert)}


def next_serial(scope: str) -> int:
    """The next number of a scope, starting at 1; the row stays locked until the caller's transaction ends."""
    connection = db.session.connection()
    return connection.execute(_UPSERTS[connection.dialect.name], {"scope": scope}).scalar_one()
