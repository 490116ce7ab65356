"""A PostgreSQL database of one's own for a run (tests, the replay, the benchmarks), created beside the one a URL
names and dropped afterwards."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable


def is_postgres(url: str | None) -> bool:
    return bool(url) and url.startswith(("postgres://", "postgresql"))


def fresh_postgres(url: str, prefix: str) -> tuple[str, Callable[[], None]]:
    """A new database `{prefix}_{pid}_{random}` on the server of `url`: its URL (psycopg 3 driver) and how to drop
    it (WITH FORCE: connections a run left open do not keep it)."""
    import psycopg
    from sqlalchemy.engine import make_url

    base = make_url(url.replace("postgres://", "postgresql://", 1))
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = base.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return base.set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False), drop
