"""Where in-memory caches live: in the application (`app.extensions`), never in a module.

Each cache is owned by the module that fills it, which also invalidates it (`forget_...`); this module only
keeps them per app, so a new app — a test, a restarted worker, a second app in one process — starts clean and
never serves another app's (another database's) entries.

A cache that must follow changes made by other server processes keeps a shared generation: the writer bumps it
in the transaction of its change (`bump_generation`), readers compare it with the one their entries were made at
(`shared_generation`: one read of the few counters, remembered for the rest of the request, or of a background
job's transaction).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import sqlalchemy as sa
from flask import current_app, has_request_context, request
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from .extensions import db

T = TypeVar("T")
EXTENSION = "tongban_caches"


def app_cache(name: str, factory: Callable[[], T]) -> T:
    """This app's cache `name`, made by `factory` on first use."""
    caches = current_app.extensions.setdefault(EXTENSION, {})
    cache = caches.get(name)
    if cache is None:
        cache = caches.setdefault(name, factory())  # two threads racing here keep one cache
    return cache


def forget_all() -> None:
    """Drop every cache of this app (tests that empty the database under a living app)."""
    current_app.extensions.pop(EXTENSION, None)


class CacheGeneration(db.Model):
    """A counter per shared cache, bumped by every change the cache depends on (on any server process)."""

    __tablename__ = "cache_generation"

    name: Mapped[str] = mapped_column(sa.String(60), primary_key=True)
    generation: Mapped[int] = mapped_column(sa.Integer, default=0)


_MEMO = "tongban.generations"


def shared_generation(name: str) -> int:
    """The current generation of cache `name` (0 before its first change). In a request, every cache's
    generation is read at once, on first use (a handful of rows), and kept for the rest of the request."""
    if not has_request_context():  # a background job: remembered for the rest of its transaction
        session = db.session()
        transaction = session.get_transaction()
        kept = session.info.get(_MEMO)
        if kept is not None and transaction is not None and kept[0] is transaction:
            return kept[1].get(name, 0)
        memo = _read_all()
        session.info[_MEMO] = (session.get_transaction(), memo)
        return memo.get(name, 0)
    memo = request.environ.get(_MEMO)
    if memo is None:
        memo = request.environ[_MEMO] = _read_all()
    return memo.get(name, 0)


_READ_ALL = sa.select(CacheGeneration.name, CacheGeneration.generation)  # built once: every request reads it


def _read_all() -> dict[str, int]:
    return dict(db.session.execute(_READ_ALL).all())


def bump_generation(name: str) -> None:
    """In the caller's transaction: every process's entries of cache `name` are stale once it commits."""
    table = CacheGeneration.__table__
    bump = table.update().where(table.c.name == name).values(generation=table.c.generation + 1)
    if db.session.execute(bump).rowcount == 0:
        try:
            with db.session.begin_nested():  # the first change ever: two writers may race to create the row
                db.session.execute(table.insert().values(name=name, generation=1))
        except IntegrityError:
            db.session.execute(bump)
    db.session.info.pop(_MEMO, None)
    if has_request_context():
        request.environ.pop(_MEMO, None)
