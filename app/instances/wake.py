"""Waking long-polling workers (fetchAndLock's asyncResponseTimeout) when tasks may have become fetchable.

A waiting fetch holds no transaction: it sleeps on a condition of its app and looks again when woken, when the
earliest lock it saw expires, or after `MAX_NAP` seconds at most. A writer that makes tasks fetchable (a case's
step that creates them, an unlock, a failure to retry at once) calls `after_commit()` in its transaction:
- this process's waiters are woken once the transaction commits (never before: they would look too early);
- on PostgreSQL the transaction also sends `NOTIFY tongban_external_task`, and one listening connection per
  server process wakes that process's waiters, so a task created by one gunicorn worker reaches a fetch
  waiting in another at once.
"""

from __future__ import annotations

import logging
import sys
import threading
import weakref

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from ..caches import app_cache
from ..extensions import db

log = logging.getLogger(__name__)
CHANNEL = "tongban_external_task"
MAX_NAP = 5.0  # seconds: a waiting fetch looks again at least this often (a missed wake costs no more)
_SESSION_KEY = "tongban.external.wake"


class Wakeup:
    """A generation counter and a condition: a waiter remembers the generation it looked at, and sleeps until
    it changes, so a wake between its look and its sleep is never lost."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._generation = 0

    @property
    def generation(self) -> int:
        with self._condition:
            return self._generation

    def notify(self) -> None:
        with self._condition:
            self._generation += 1
            self._condition.notify_all()

    def wait(self, seen: int, seconds: float) -> bool:
        """Sleep until woken after generation `seen`, or `seconds`; True when woken."""
        with self._condition:
            return self._condition.wait_for(lambda: self._generation != seen, timeout=max(0.0, seconds))


def wakeup() -> Wakeup:
    return app_cache("external.wakeup", Wakeup)


def after_commit() -> None:
    """Wake the waiting fetches once the caller's transaction commits (every server process's)."""
    db.session.info[_SESSION_KEY] = wakeup()
    if db.engine.dialect.name == "postgresql":
        db.session.execute(sa.select(sa.func.pg_notify(CHANNEL, "")))


@event.listens_for(Session, "after_commit")
def _committed(session) -> None:
    target = session.info.pop(_SESSION_KEY, None)
    if target is not None:
        target.notify()


@event.listens_for(Session, "after_rollback")
def _rolled_back(session) -> None:
    session.info.pop(_SESSION_KEY, None)


# -- PostgreSQL: one LISTEN connection per server process and database ---------------------------------------
_listeners: dict[str, _Listener] = {}
_listeners_lock = threading.Lock()


class _Listener(threading.Thread):
    def __init__(self, dsn: str) -> None:
        super().__init__(daemon=True, name="external-task-listener")
        self.dsn = dsn
        self.targets: weakref.WeakSet[Wakeup] = weakref.WeakSet()  # each app's; gone with the app
        self.ready = threading.Event()

    def run(self) -> None:
        import psycopg

        try:
            with psycopg.connect(self.dsn, autocommit=True) as connection:
                connection.execute(f"LISTEN {CHANNEL}")
                self.ready.set()
                while True:
                    for _ in connection.notifies(timeout=MAX_NAP, stop_after=1):
                        for target in list(self.targets):
                            target.notify()
        except Exception:  # the database went away (a test's dropped database, a restart): waiters nap instead
            log.info("external task listener stopped: %s", sys.exc_info()[1])
        finally:
            self.ready.set()
            with _listeners_lock:
                if _listeners.get(self.dsn) is self:
                    del _listeners[self.dsn]


def listen() -> None:
    """Make sure this process hears other processes' wakes (PostgreSQL); a no-op elsewhere."""
    if db.engine.dialect.name != "postgresql":
        return
    target = wakeup()
    url = db.engine.url.set(drivername="postgresql")
    dsn = url.render_as_string(hide_password=False)
    with _listeners_lock:
        listener = _listeners.get(dsn)
        if listener is None:
            listener = _listeners[dsn] = _Listener(dsn)
            listener.start()
        listener.targets.add(target)
    listener.ready.wait(timeout=5)
