"""One database per test run (SQLite file, or a throwaway PostgreSQL database), migrated once and emptied
between tests, and a fresh app for every test.

DATABASE_URL=postgresql://... makes the run create its own database next to the one named, and drop it at the end.
Client requests run each in an app context of their own, as behind a real server; a test reads or writes the
database directly only inside `with app.app_context():` (or through `in_app`), never around a request.
"""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import has_app_context
from flask.testing import FlaskClient

from app import create_app, schemas
from app.caches import forget_all
from app.extensions import db
from tools.throwaway_db import fresh_postgres, is_postgres

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
schemas.VERIFY_DUMPS = True  # every answer of every test is also dumped marshmallow's own way and compared


class FakeClock:
    """The service's clock in tests: moved explicitly, never by sleeping."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def __call__(self) -> datetime:
        return self.current

    def advance(self, **delta) -> datetime:
        self.current += timedelta(**delta)
        return self.current

    def set(self, moment: datetime) -> None:
        self.current = moment.astimezone(UTC)


def _database(tmp_root: Path):
    url = os.environ.get("DATABASE_URL", "")
    if is_postgres(url):
        return fresh_postgres(url, "tongban_test")
    return f"sqlite:///{tmp_root / 'tongban-test.db'}", lambda: None


class IsolatedClient(FlaskClient):
    """A test client whose requests each run in their own app context, as they do behind a real server.

    A test holding an app context around a request would let the request share the test's session (a view that
    forgets to commit would still pass, and on SQLite the test's open transaction would block the request's
    writes): that is refused.
    """

    def open(self, *args, **kwargs):
        assert not has_app_context(), "client requests must not run inside the test's app context " \
            "(open `with app.app_context():` only around direct database access)"
        return super().open(*args, **kwargs)


@pytest.fixture(scope="session")
def database(tmp_path_factory):
    """The run's database, migrated once: its URL. Every test app connects to it."""
    url, drop = _database(tmp_path_factory.mktemp("db"))
    migrating = _new_app(url, tmp_path_factory.mktemp("no-processes"))
    with migrating.app_context():
        from flask_migrate import upgrade

        upgrade(directory=str(ROOT / "migrations"))
        db.session.remove()
        db.engine.dispose()
    yield url
    drop()


def _new_app(url: str, processes_dir: Path):
    application = create_app({
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": url,
        "SCHEDULER_ENABLED": False,
        "PROCESSES_DIR": str(processes_dir),
        "FORMS_DIR": str(FIXTURES / "forms"),
        "ATTACHMENTS_DIR": str(processes_dir.parent / f"{processes_dir.name}-attachments"),  # not the repo's instance/
    })
    application.test_client_class = IsolatedClient
    return application


@pytest.fixture(scope="session")
def make_app(database, tmp_path_factory):
    """Build a fresh app on the run's database (its own engine and caches); release it with `close_app`."""
    processes_dir = tmp_path_factory.mktemp("no-processes")
    return lambda: _new_app(database, processes_dir)


def close_app(application) -> None:
    scheduler = application.extensions.pop("tongban_scheduler", None)
    if scheduler is not None and scheduler.running:  # a test that started one and failed before stopping it
        scheduler.shutdown(wait=True)
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture()
def app(make_app):
    """A fresh app for every test: nothing cached from another test, no app context held around requests."""
    application = make_app()
    yield application
    close_app(application)


def _empty_tables() -> None:
    """Empty every table (inside an app context); this app's caches go too, since ids are reused."""
    tables = [t for t in reversed(db.metadata.sorted_tables)]
    if db.engine.dialect.name == "postgresql":
        names = ", ".join(f'"{t.name}"' for t in tables)
        db.session.execute(db.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    else:
        for table in tables:
            db.session.execute(table.delete())
        for table in tables:  # what triggers wrote while the others were emptied
            if table.info.get("kept_by_triggers"):
                db.session.execute(table.delete())
    db.session.commit()
    forget_all()


@pytest.fixture()
def clock(app):
    fake = FakeClock(datetime(2026, 11, 25, 1, 0, tzinfo=UTC))  # 09:00 in Shanghai, a Wednesday
    app.config["CLOCK"] = fake
    yield fake
    app.config["CLOCK"] = None


@pytest.fixture()
def ctx(app, clock):
    """An empty database for this test's app. No app context is held: open `with app.app_context():` (or use
    `in_app`) for direct database access, and make client requests outside it."""
    with app.app_context():
        _empty_tables()
        db.session.remove()
    return app


@pytest.fixture()
def client(ctx):
    return ctx.test_client()


class InApp:
    """Run a service function directly, in an app context of its own (as the scheduler or a CLI command would):
    `in_app(timers.fire_due)`. For direct queries, open `with app.app_context():` around them."""

    def __init__(self, application) -> None:
        self.app = application

    def __call__(self, function, *args, **kwargs):
        with self.app.app_context():
            return function(*args, **kwargs)


def in_app_engine(application):
    """The app's engine (to count statements, say), read in a passing app context."""
    with application.app_context():
        return db.engine


@pytest.fixture()
def in_app(ctx) -> InApp:
    return InApp(ctx)


class People:
    """Users of a small test hall and their bearer tokens."""

    def __init__(self, tokens: dict[str, str]) -> None:
        self.tokens = tokens

    def auth(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[username]}"}


@pytest.fixture()
def people(ctx) -> People:
    """A small hall: the hall's ten departments; 发改局 (fgj) has the test posts and their clerks, 卫生局 (wsj) a
    clerk and a supervisor of its own; plus 中心督查, analyst, ops and admin."""
    import yaml

    from app.forms import service as forms
    from app.people import service
    from app.people.auth import issue_token
    from app.people.models import Department, Post

    users = {
        "clerk": ("窗口甲", ["clerk"], ["测试受理岗"]),
        "clerk2": ("窗口乙", ["clerk"], ["测试受理岗"]),
        "approver": ("审批人", ["clerk"], ["测试审批岗"]),
        "boss": ("督查员", ["supervisor"], ["测试督查岗"]),
        "other": ("他局窗口", ["clerk"], ["其他受理岗"]),
        "otherboss": ("他局督查", ["supervisor"], ["其他督查岗"]),
        "center": ("中心督查", ["center_supervisor"], ["中心督查岗"]),
        "analyst": ("分析员", ["analyst"], []),
        "ops": ("运维", ["ops"], []),
        "admin": ("管理员", ["admin"], []),
    }
    hall = yaml.safe_load((ROOT / "processes" / "hall.yaml").read_text(encoding="utf-8"))
    tokens = {}
    with ctx.app_context():
        for d in hall["departments"]:
            db.session.add(Department(code=d["code"], name=d["name"], short=d["short"], letters=d.get("letters")))
        db.session.flush()
        for name, kind, department in (("测试受理岗", "window_a", "fgj"), ("测试受理B岗", "window_b", "fgj"),
                                       ("测试审批岗", "approve", "fgj"), ("测试督查岗", "supervise", "fgj"),
                                       ("其他受理岗", "window_a", "wsj"), ("其他督查岗", "supervise", "wsj"),
                                       ("中心督查岗", "supervise", None)):
            db.session.add(Post(name=name, kind=kind, department_code=department))
        db.session.flush()
        db.session.get(Post, "测试受理岗").backup_name = "测试受理B岗"
        for username, (name, roles, posts) in users.items():
            user = service.upsert_user(username, name, roles, posts)
            tokens[username] = issue_token(user)
        forms.deploy_directory(FIXTURES / "forms")
        db.session.commit()
        db.session.remove()
    return People(tokens)


def deploy(client, people: People, *names: str, as_user: str = "analyst"):
    files = [(open(FIXTURES / name, "rb"), name) for name in names]
    try:
        return client.post("/api/v1/process-definitions", data={"file": files},
                           headers=people.auth(as_user), content_type="multipart/form-data")
    finally:
        for handle, _ in files:
            handle.close()


@pytest.fixture()
def live_server(app, ctx):
    """The app behind a real HTTP server on a free loopback port."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)
