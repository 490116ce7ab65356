"""Migration 0018 (the hall wing) on a database filled at 0017: the hall's state moves off the runtime's rows into
its own tables, and every case on it still runs to its end.

`tests/fixtures/filled_0017.json.gz` holds every row of a database filled at 0017 by the code of that time: 132
cases of 12 matters (every kind) stopped at every stage — just received, accepted, supplemented, in review,
decided, forwarded to the higher authority, extended, cancelled, ended — after a sweep lit some of them. It is
loaded into a database of its own (SQLite, or PostgreSQL with DATABASE_URL), migrated to the head, and each open
case is then driven through the HTTP API to its end.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
from pathlib import Path

import pytest
import sqlalchemy as sa

from app import create_app
from app.extensions import db
from tests.conftest import FakeClock, close_app
from tests.documents.conftest import APPLICANT  # noqa: F401  (the applicant the fixture's cases carry)
from tests.matters.conftest import HALL, catalog
from tests.matters.test_every_matter_runs import Api, form_data, short
from tools.throwaway_db import fresh_postgres, is_postgres

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "filled_0017.json.gz"
HALL_COLUMNS = {"owner", "owner_post", "matter_code", "window_no", "green_channel", "received_on", "promised_days",
                "paused_days", "paused_since", "due_date", "outcome", "working_days_used", "on_time", "light",
                "supplement_count", "extended_days", "extended_at", "extended_by", "extension_reason",
                "forwarded_at", "forward_clock", "replied_at", "decided_at", "accepted_on_receipt", "case_number"}
# `priority` came back to user_task in 0030 as the runtime's own rank of a task in a post's list (Camunda's task
# priority: the diagram's camunda:priority since 0032, which the hall lifts for a green-channel case)
TASK_HALL_COLUMNS = {"role", "light", "watch_from", "return_to"}


@pytest.fixture(scope="module")
def filled(tmp_path_factory):
    """A database of its own, at 0017, with the fixture's rows; its URL."""
    url = os.environ.get("DATABASE_URL", "")
    drop = None
    if is_postgres(url):
        url, drop = fresh_postgres(url, "tongban_hall_wing")
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('hall-wing') / 'filled.db'}"
    dump = json.loads(gzip.decompress(FIXTURE.read_bytes()).decode("utf-8"))
    application = _app(url)
    with application.app_context():
        from flask_migrate import upgrade

        upgrade(directory=str(ROOT / "migrations"), revision=dump["revision"])
        _load(dump["tables"])
        db.session.remove()
    close_app(application)
    yield url, dump
    if drop is not None:
        drop()


def _app(url: str):
    application = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SCHEDULER_ENABLED": False,
                              "TOKEN_TTL_DAYS": 0})
    return application


def _value(column: sa.Column, value):
    if value is None:
        return None
    kind = column.type
    if isinstance(kind, sa.DateTime):
        return dt.datetime.fromisoformat(value)
    if isinstance(kind, sa.Date):
        return dt.date.fromisoformat(value)
    if isinstance(kind, sa.Boolean):
        return bool(value)
    if isinstance(kind, sa.JSON) and isinstance(value, str):
        return json.loads(value)
    return value


def _load(tables: dict[str, list[dict]]) -> None:
    """Every row, in the order the 0017 schema's foreign keys ask; PostgreSQL's sequences moved past them."""
    meta = sa.MetaData()
    meta.reflect(bind=db.engine)
    with db.engine.begin() as conn:  # foreign keys (a post's backup post, in the same batch) checked at the commit
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA defer_foreign_keys=ON")
        else:
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        for table in meta.sorted_tables:
            rows = tables.get(table.name) or []
            if rows:
                conn.execute(table.insert(), [{k: _value(table.c[k], v) for k, v in row.items()} for row in rows])
        if conn.dialect.name == "postgresql":
            for table in meta.sorted_tables:
                if "id" in table.c and isinstance(table.c.id.type, sa.Integer) and tables.get(table.name):
                    conn.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                                         f"(SELECT max(id) FROM {table.name}))"))



@pytest.fixture(scope="module")
def migrated(filled):
    url, dump = filled
    application = _app(url)
    with application.app_context():
        from flask_migrate import upgrade

        upgrade(directory=str(ROOT / "migrations"))
        db.session.remove()
    yield application, dump
    close_app(application)


def test_the_runtimes_rows_carry_no_hall_column(migrated):
    application, _ = migrated
    with application.app_context():
        inspector = sa.inspect(db.engine)
        instance_columns = {c["name"] for c in inspector.get_columns("process_instance")}
        task_columns = {c["name"] for c in inspector.get_columns("user_task")}
    assert not HALL_COLUMNS & instance_columns
    assert not TASK_HALL_COLUMNS & task_columns


def test_the_hall_state_moved_whole(migrated):
    application, dump = migrated
    old = {row["id"]: row for row in dump["tables"]["process_instance"]}
    old_tasks = {row["id"]: row for row in dump["tables"]["user_task"]}
    with application.app_context():
        from app.hall.models import CaseEvent, HallCase, HallTask
        from app.people.models import TaskReturn

        cases = {c.instance_id: c for c in db.session.scalars(sa.select(HallCase))}
        assert set(cases) == {i for i, row in old.items() if row["matter_code"]}
        for instance_id, case in cases.items():
            row = old[instance_id]
            for column in ("case_number", "owner", "matter_code", "window_no", "promised_days", "light",
                           "outcome", "working_days_used", "extended_days", "forward_clock"):
                assert getattr(case, column) == row[column], (instance_id, column)
            assert case.due_date == (dt.date.fromisoformat(row["due_date"]) if row["due_date"] else None)
            assert case.is_open == (row["state"] in ("running", "suspended", "error"))
            assert bool(case.on_time) == bool(row["on_time"]) and case.green_channel == bool(row["green_channel"])
        tasks = {t.task_id: t for t in db.session.scalars(sa.select(HallTask))}
        assert set(tasks) == set(old_tasks)
        assert all((tasks[i].role, tasks[i].light) == (t["role"], t["light"]) for i, t in old_tasks.items())
        returns = db.session.scalars(sa.select(TaskReturn)).all()
        assert {r.task_id for r in returns} == {i for i, t in old_tasks.items() if t["return_to"]
                                               and t["state"] == "open"}
        kinds = {}
        for event in db.session.scalars(sa.select(CaseEvent).order_by(CaseEvent.id)):
            kinds.setdefault(event.instance_id, []).append(event.kind)
        for instance_id in cases:
            assert kinds[instance_id][0] == "received", kinds[instance_id]
            if old[instance_id]["state"] in ("completed", "cancelled"):
                assert kinds[instance_id][-1] == "closed", kinds[instance_id]
        extended = [i for i, row in old.items() if row["extended_days"]]
        assert extended and all("extended" in kinds[i] for i in extended)


def test_every_case_on_it_still_runs_to_its_end(migrated):
    application, dump = migrated
    clock = FakeClock(dt.datetime.fromisoformat(dump["clock"]))
    application.config["CLOCK"] = clock
    with application.app_context():
        from app.people.auth import issue_token
        from app.people.models import User

        tokens = {user.username: issue_token(user, label="migration")
                  for user in db.session.scalars(sa.select(User))}
        db.session.commit()
        db.session.remove()

    class Hall:
        holders = {post: user["username"] for user in reversed(HALL["users"]) for post in user.get("posts", [])}

        def auth(self, username):
            return {"Authorization": f"Bearer {tokens[username]}"}

        def holder(self, post):
            return self.holders[post]

    api = Api(Hall(), client=application.test_client())
    matters = {m["code"]: m for m in catalog()}
    running = [row for row in dump["tables"]["process_instance"] if row["state"] == "running"]
    assert len(running) > 50
    ended: dict[str, str] = {}
    for row in running:
        code, scenario, _ = row["business_key"].split("/")
        matter = matters[code]
        window_clerk = api.hall.holder(f"{short(matter['department'])}受理A岗")
        status, case = api.call("GET", f"/instances/{row['id']}", window_clerk)
        assert status == 200, case
        for _ in range(40):
            if case["state"] != "running":
                break
            clock.advance(minutes=30)
            if not [t for t in case["tasks"] if not t["element_id"].startswith("supervise_")]:
                status, body = api.call("POST", "/messages", window_clerk, json={
                    "name": "higher_authority_reply", "business_key": row["business_key"],
                    "data": {"higher_decision": "approved", "higher_opinion": "批复同意"}})
                assert status == 200, body
            for task in case["tasks"]:
                if task["element_id"].startswith("supervise_"):  # an escalation: it ends with the case's course
                    continue
                clerk = api.hall.holder(task["post"])
                api.call("POST", f"/tasks/{task['id']}/claim", clerk)
                data = form_data(task["form_key"], matter, scenario, case["data"])
                status, done = api.call("POST", f"/tasks/{task['id']}/complete", clerk, json={"data": data})
                assert status == 200, (row["business_key"], task["element_id"], done)
            status, case = api.call("GET", f"/instances/{row['id']}", window_clerk)
        assert case["state"] == "completed", (row["business_key"], case["tasks"], case["messages"])
        ended[row["id"]] = case["outcome"]
        status, course = api.call("GET", f"/instances/{row['id']}/course", window_clerk)
        assert status == 200 and course["items"][0]["kind"] == "received"
        assert course["items"][-1]["kind"] == "closed", course["items"]
    assert set(ended.values()) <= {"granted", "refused", "not_accepted", "higher_approved", "higher_rejected"}
    assert "granted" in ended.values() and "higher_approved" in ended.values()
