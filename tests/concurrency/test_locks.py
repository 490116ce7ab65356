"""Lock conflicts are a 409 `busy` the caller can retry, a request never hangs behind the scheduler, the
scheduler never waits for a request, and a violated constraint is a bug (500), not a race."""

from __future__ import annotations

import os
import sqlite3

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError

from app.errors import is_lock_conflict
from app.instances import runtime
from app.timers import service as timers
from tests.conftest import deploy, in_app_engine

postgres_only = pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgres"),
                                   reason="row locks held by another connection: PostgreSQL")
ACCEPT = {"applicant": "甲", "materials_complete": True}


class _PgError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"pg error {sqlstate}")
        self.sqlstate = sqlstate


def _case(client, people) -> dict:
    deploy(client, people, "two_step.bpmn")
    response = client.post("/api/v1/process-definitions/two_step/instances", json={}, headers=people.auth("clerk"))
    assert response.status_code == 201, response.json
    return response.json


def _detail(client, people, case) -> dict:
    return client.get(f"/api/v1/instances/{case['id']}", headers=people.auth("clerk")).json


@pytest.mark.parametrize(("orig", "conflict"), [
    (_PgError("40P01"), True),  # deadlock_detected
    (_PgError("40001"), True),  # serialization_failure
    (_PgError("55P03"), True),  # lock_not_available: NOWAIT, lock_timeout
    (_PgError("57014"), False),  # query_canceled (a statement timeout): not a lock
    (sqlite3.OperationalError("database is locked"), True),
    (sqlite3.OperationalError("no such table: x"), False),
])
def test_lock_conflicts_are_told_from_other_database_errors(orig, conflict):
    assert is_lock_conflict(OperationalError("SELECT 1", {}, orig)) is conflict
    assert not is_lock_conflict(IntegrityError("INSERT", {}, orig))


@pytest.mark.parametrize("where", ["step", "view"])
def test_a_deadlock_is_a_409_busy_and_changes_nothing(client, people, monkeypatch, where):
    case = _case(client, people)
    task = case["tasks"][0]["id"]

    def deadlock(*_args, **_kwargs):
        raise OperationalError("UPDATE user_task ...", {}, _PgError("40P01"))

    # inside runtime.save (mapped there), or anywhere else in a view (mapped by the error handler)
    target = (runtime, "_sync_tasks") if where == "step" else (runtime, "lock")
    monkeypatch.setattr(*target, deadlock)
    response = client.post(f"/api/v1/tasks/{task}/complete", json={"data": ACCEPT}, headers=people.auth("clerk"))
    assert response.status_code == 409, response.json
    assert response.json["code"] == "busy" and "retry" in response.json["message"]
    assert set(response.json) == {"code", "message", "details"}
    monkeypatch.undo()
    detail = _detail(client, people, case)
    assert detail["version"] == case["version"] and [t["id"] for t in detail["tasks"]] == [task]
    done = client.post(f"/api/v1/tasks/{task}/complete", json={"data": ACCEPT}, headers=people.auth("clerk"))
    assert done.status_code == 200, done.json  # the retry goes through


def test_a_violated_constraint_in_a_step_is_a_logged_500_not_a_409(client, people, monkeypatch, caplog):
    case = _case(client, people)
    task = case["tasks"][0]["id"]

    def duplicate(*_args, **_kwargs):
        raise IntegrityError("INSERT INTO user_task ...", {}, Exception("duplicate key value"))

    monkeypatch.setattr(runtime, "_sync_tasks", duplicate)
    response = client.post(f"/api/v1/tasks/{task}/complete", json={"data": ACCEPT}, headers=people.auth("clerk"))
    assert response.status_code == 500 and response.json["code"] == "internal_error"
    assert any("unhandled error" in r.getMessage() and r.exc_info for r in caplog.records)
    monkeypatch.undo()
    assert _detail(client, people, case)["version"] == case["version"]  # rolled back


@postgres_only
def test_a_request_waits_briefly_for_a_case_the_scheduler_holds_then_answers_409_busy(app, client, people):
    """The reported hang: a long timer step held the case, and a cancel waited for it without end."""
    app.config["LOCK_TIMEOUT_MS"] = 200
    case = _case(client, people)
    task = case["tasks"][0]["id"]
    with in_app_engine(app).connect() as step:  # a long step elsewhere holds the case row
        step.execute(text("SELECT id FROM process_instance WHERE id = :id FOR UPDATE"), {"id": case["id"]})
        cancel = client.post(f"/api/v1/instances/{case['id']}/cancel", json={"reason": "x"},
                             headers=people.auth("boss"))
        complete = client.post(f"/api/v1/tasks/{task}/complete", json={"data": ACCEPT}, headers=people.auth("clerk"))
        step.rollback()
    for response in (cancel, complete):
        assert response.status_code == 409 and response.json["code"] == "busy", response.json
        assert response.headers["Retry-After"] == "1"
    assert client.post(f"/api/v1/instances/{case['id']}/cancel", json={"reason": "x"},
                       headers=people.auth("boss")).status_code == 200


@postgres_only
def test_the_scheduler_leaves_a_case_a_request_holds_for_its_next_pass(app, in_app, client, people, clock):
    case = _case(client, people)
    accept = case["tasks"][0]["id"]
    assert client.post(f"/api/v1/tasks/{accept}/complete", json={"data": ACCEPT},
                       headers=people.auth("clerk")).status_code == 200
    clock.advance(hours=2)  # the approval's escalation timer is due
    with in_app_engine(app).connect() as request:
        request.execute(text("SELECT id FROM process_instance WHERE id = :id FOR UPDATE"), {"id": case["id"]})
        assert in_app(timers.fire_due) == 0  # skipped, not waited for
        request.rollback()
    assert in_app(timers.fire_due) == 1
    assert sorted(t["element_id"] for t in _detail(client, people, case)["tasks"]) == ["approve", "escalate"]
