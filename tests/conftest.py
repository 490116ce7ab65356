"""One app and one database per test run (SQLite file, or a throwaway PostgreSQL database), emptied between tests.

DATABASE_URL=postgresql://... makes the run create its own database next to the one named, and drop it at the end.
"""

from __future__ import annotations

import os
import threading
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from app import create_app
from app.extensions import db

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"


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
    if url.startswith(("postgres://", "postgresql")):
        import psycopg

        base = make_url(url.replace("postgres://", "postgresql://", 1))
        name = f"tongban_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        admin_dsn = base.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')

        def drop() -> None:
            with psycopg.connect(admin_dsn, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

        return base.set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False), drop
    return f"sqlite:///{tmp_root / 'tongban-test.db'}", lambda: None


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    url, drop = _database(tmp_path_factory.mktemp("db"))
    application = create_app({
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": url,
        "SCHEDULER_ENABLED": False,
        "PROCESSES_DIR": str(tmp_path_factory.mktemp("no-processes")),
        "FORMS_DIR": str(FIXTURES / "forms"),
    })
    with application.app_context():
        from flask_migrate import upgrade

        upgrade(directory=str(ROOT / "migrations"))
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()
    drop()


def _empty_tables() -> None:
    from app.definitions import service as definitions
    from app.forms import service as forms
    from app.instances import runtime
    from app.people.absences import forget_routing
    from app.people.auth import forget_principals

    tables = [t for t in reversed(db.metadata.sorted_tables)]
    if db.engine.dialect.name == "postgresql":
        names = ", ".join(f'"{t.name}"' for t in tables)
        db.session.execute(db.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    else:
        for table in tables:
            db.session.execute(table.delete())
    db.session.commit()
    definitions._compiled.clear()
    forms.forget_cached()
    forget_routing()
    forget_principals()
    runtime.cache.clear()


@pytest.fixture()
def clock(app):
    fake = FakeClock(datetime(2026, 11, 25, 1, 0, tzinfo=UTC))  # 09:00 in Shanghai, a Wednesday
    app.config["CLOCK"] = fake
    yield fake
    app.config["CLOCK"] = None


@pytest.fixture()
def ctx(app, clock):
    with app.app_context():
        _empty_tables()
        yield app
        db.session.remove()


@pytest.fixture()
def client(ctx):
    return ctx.test_client()


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

    from app.people import service
    from app.people.auth import issue_token
    from app.people.models import Department, Post

    hall = yaml.safe_load((ROOT / "processes" / "hall.yaml").read_text(encoding="utf-8"))
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
    tokens = {}
    for username, (name, roles, posts) in users.items():
        user = service.upsert_user(username, name, roles, posts)
        tokens[username] = issue_token(user)
    from app.forms import service as forms
    forms.deploy_directory(FIXTURES / "forms")
    db.session.commit()
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
