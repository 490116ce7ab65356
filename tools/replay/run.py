"""Set up a database, run the replay on it, compare, report — and `demo`, which seeds a few weeks of it.

In process (the default), the clerks' requests go through the Flask test client into the app (the whole WSGI
stack, no sockets) and the scheduler's jobs run in the same process at each tick, on a clock the replay moves.
With `--serve N`, N gunicorn worker processes serve the API on the same database, their clock read from a file the
replay moves (`TONGBAN_CLOCK_FILE`, off unless set), their scheduler off (the replay runs its jobs in its own
process, on the same database, at the same moment), and `--clients` threads send the requests.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tools.throwaway_db import fresh_postgres

from .hall import ROOT, Hall, issue_tokens

REPLAY_TOKENS = "replay"


class Clock:
    """The replay's clock: the in-process app reads it; with servers, the file they read is written too."""

    def __init__(self, at: dt.datetime, path: str | None = None) -> None:
        self.current, self.path = at, path
        if path:
            self._write()

    def __call__(self, at: dt.datetime | None = None) -> dt.datetime:
        if at is None:
            return self.current
        self.current = at
        if self.path:
            self._write()
        return at

    def _write(self) -> None:
        from app.clock import FileClock

        FileClock.write(self.path, self.current)


class Jobs:
    """The scheduler's jobs, run in the replay's own app at the replay's moment."""

    def __init__(self, app) -> None:
        self.app = app

    def fire_due(self, at: dt.datetime) -> int:
        from app.extensions import db
        from app.timers import service as timers

        advanced = 0
        with self.app.app_context():
            for _ in range(50):
                done = timers.fire_due(limit=1000)
                advanced += done
                if done == 0:
                    break
            db.session.remove()
        return advanced

    def sweep(self, at: dt.datetime) -> dict:
        from app.extensions import db
        from app.hall.supervision import service as supervision

        with self.app.app_context():
            counts = supervision.sweep(at)
            db.session.remove()
        return counts

    def apply_absences(self, at: dt.datetime) -> dict:
        from app.extensions import db
        from app.people import absences

        with self.app.app_context():
            counts = absences.apply_absences(at)
            db.session.remove()
        return counts


def make_app(database_url: str | None, clock: Clock):
    """The replay's own app: the clerks' requests (in process) and the scheduler's jobs, on the replay's clock;
    `database_url` None: the server's (DATABASE_URL, else the embedded SQLite under instance/)."""
    from app import create_app, gc_tuning

    gc_tuning.tune()
    os.environ.setdefault("TONGBAN_LOG_FORMAT", "text")
    config = {"SCHEDULER_ENABLED": False, "CLOCK": clock, "LOG_LEVEL": "WARNING", "SQLITE_SYNCHRONOUS": "NORMAL",
              "TESTING": False}
    if database_url:
        config["SQLALCHEMY_DATABASE_URI"] = database_url
    app = create_app(config)
    logging.getLogger().setLevel(logging.WARNING)
    for name in ("app", "tongban", "werkzeug", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)
    return app


def prepare(app, *, migrate: bool = True) -> Hall:
    """Migrate, seed the hall, forms/ and processes/ (bootstrap), and give every person a token for the replay."""
    from flask_migrate import upgrade

    from app.cli import bootstrap
    from app.extensions import db

    with app.app_context():
        if migrate:
            upgrade(directory=str(ROOT / "migrations"))
        bootstrap(app)
        tokens = issue_tokens(REPLAY_TOKENS, lasting=True)
        db.session.commit()
        db.session.remove()
    return Hall(tokens)


def revoke_tokens(app) -> int:
    """The replay's tokens go once it is done (a demo database keeps no working token of it)."""
    from app.extensions import db
    from app.people.models import ApiToken

    with app.app_context():
        gone = db.session.execute(db.delete(ApiToken).where(ApiToken.label == REPLAY_TOKENS)).rowcount
        db.session.commit()
        db.session.remove()
    return gone


def fresh_database(url: str) -> tuple[str, object]:
    """PostgreSQL: a new database beside the one named (dropped afterwards unless kept), as the tests do."""
    return fresh_postgres(url, "tongban_replay")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_servers(database_url: str, workers: int, threads: int, clock_file: str) -> tuple[subprocess.Popen, str]:
    """gunicorn with `workers` processes on the database, the replay's clock, no scheduler."""
    import requests

    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "TONGBAN_SCHEDULER": "off", "TONGBAN_CLOCK_FILE": clock_file,
           "TONGBAN_LOG_LEVEL": "WARNING", "TONGBAN_SQLITE_SYNCHRONOUS": "NORMAL", "TONGBAN_CONTROL_SOCKET": "off"}
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers",
                               str(workers), "--threads", str(max(2, threads)), "--log-level", "warning",
                               "--no-control-socket", "app.wsgi:application"], cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if requests.get(f"{base}/healthz", timeout=1).ok:
                return server, base
        except requests.RequestException:
            time.sleep(0.1)
        if server.poll() is not None:
            break
    server.kill()
    raise SystemExit("replay: the server did not start")


@dataclass
class Outcome:
    replay: object
    comparison: object | None
    database_url: str
    setup_seconds: float
    run_seconds: float
    compare_seconds: float
    mode: str


def simulate(plan, *, database_url: str | None = None, serve: int = 0, clients: int = 1, options=None,
             compare_after: bool = True, progress: bool = False, workdir: str | None = None) -> Outcome:
    """Replay `plan` on a database (a new SQLite file when none is named) and compare the ledger with the API."""
    from .compare import compare
    from .driver import Api
    from .engine import Options, Replay
    from .truth import Settings

    begun = time.monotonic()
    workdir = workdir or tempfile.mkdtemp(prefix="tongban-replay-")
    Path(workdir).mkdir(parents=True, exist_ok=True)
    database_url = database_url or f"sqlite:///{Path(workdir) / 'replay.db'}"
    first = dt.datetime.combine(plan.days[0], dt.time(8, 0), dt.timezone(dt.timedelta(hours=8)))
    clock = Clock(first.astimezone(dt.UTC), str(Path(workdir) / "clock") if serve else None)
    app = make_app(database_url, clock)
    hall = prepare(app)
    server = None
    try:
        if serve:
            server, base = start_servers(database_url, serve, clients, clock.path)
            api = Api(hall, base=base)
        else:
            api = Api(hall, client=app.test_client())
        with app.app_context():
            config = app.config
            settings = Settings(int(config.get("YELLOW_DAYS", 1)), float(config.get("YELLOW_RATIO", 0.2)),
                                float(config.get("GREEN_CHANNEL_RATIO", 0.5)))
        options = options or Options()
        options.clients = clients if serve else 1
        options.progress = progress
        setup = time.monotonic() - begun
        replay = Replay(plan, api, Jobs(app), clock, options, settings).run()
        run_seconds = replay.finished_at - replay.started_at
        comparison, compared = None, 0.0
        if compare_after:
            started = time.monotonic()
            cases = [c.truth for c in replay.cases.values() if c.id is not None]
            comparison = compare(api, cases, plan.days[0], plan.days[-1], open_too=not options.drain)
            compared = time.monotonic() - started
        return Outcome(replay, comparison, database_url, setup, run_seconds, compared,
                       f"{serve} server processes, {clients} clients" if serve else "in process")
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
