"""Out-of-range numbers and dates are a 422 at the door, a 4xx is never given after the write it denies (the
phantom write), and what is stored can always be shown."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask import Blueprint

from app.extensions import db
from tests.guards.diagrams import bpmn, flow, simple, task, timer, upload


def _json(client, path: str, body: str, user_headers: dict):
    return client.post(path, data=body, headers={**user_headers, "Content-Type": "application/json"})


@pytest.mark.parametrize("number", ["1e400", "-1e400", "1" * 4301, "-" + "9" * 5000, str(2**63), str(-(2**63) - 1)])
def test_numbers_out_of_range_are_422_at_the_door(client, people, number):
    assert upload(client, people, ("p.bpmn", simple("p"))).status_code == 201
    response = _json(client, "/api/v1/process-definitions/p/instances", f'{{"data": {{"x": {number}}}}}',
                     people.auth("clerk"))
    assert response.status_code == 422 and "超出允许范围" in response.json["message"], response.json
    assert client.get("/api/v1/instances", headers=people.auth("admin")).json["total"] == 0
    fine = _json(client, "/api/v1/process-definitions/p/instances", f'{{"data": {{"x": {2**63 - 1}, "y": 1.5e300}}}}',
                 people.auth("clerk"))
    assert fine.status_code == 201 and fine.json["data"]["x"] == 2**63 - 1


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00", "0000-01-01T00:00:00", "9999-12-31T23:59:59-10:00",
                                    "10000-01-01T00:00:00", "1899-12-31T23:00:00+08:00", "9001-01-01T00:00:00"])
def test_times_out_of_range_are_422_at_the_door(client, people, moment):
    response = client.get("/api/v1/timers", query_string={"due_before": moment}, headers=people.auth("ops"))
    assert response.status_code == 422, (moment, response.json)
    response = client.get("/api/v1/tasks", query_string={"due_after": moment}, headers=people.auth("clerk"))
    assert response.status_code == 422, (moment, response.json)


@pytest.mark.parametrize("day", ["0000-01-01", "0001-01-01", "9999-12-31", "1899-12-31"])
def test_dates_out_of_range_are_422_at_the_door(client, people, day):
    response = client.get("/api/v1/calendar/add-working-days", query_string={"from": day, "days": 1},
                          headers=people.auth("clerk"))
    assert response.status_code == 422, response.json
    response = client.get("/api/v1/statistics/summary", query_string={"from": day}, headers=people.auth("ops"))
    assert response.status_code == 422, response.json


def test_a_post_or_role_listed_twice_is_422(client, people):
    for body in ({"username": "dup", "name": "重复", "roles": ["clerk"], "posts": ["测试受理岗", "测试受理岗"]},
                 {"username": "dup", "name": "重复", "roles": ["clerk", "clerk"], "posts": []}):
        response = client.post("/api/v1/users", json=body, headers=people.auth("admin"))
        assert response.status_code == 422 and "重复" in str(response.json["details"]), response.json
    assert client.get("/api/v1/users", headers=people.auth("admin")).json and all(
        u["username"] != "dup" for u in client.get("/api/v1/users", headers=people.auth("admin")).json)


def test_a_timer_date_past_year_9000_from_the_case_data_stores_nothing(client, people):
    """The phantom write: this start answered "422 nothing stored" after committing the case, and GET /timers
    answered 422 to everyone from then on."""
    dated = bpmn("dated", f'<bpmn:startEvent id="start" />{flow("f0", "start", "work")}{task("work")}'
                          f'<bpmn:boundaryEvent id="deadline" attachedToRef="work">{timer("timeDate", "${due}")}'
                          f'</bpmn:boundaryEvent>{flow("f1", "deadline", "end")}{flow("f2", "work", "end")}'
                          f'<bpmn:endEvent id="end" />')
    assert upload(client, people, ("dated.bpmn", dated)).status_code == 201
    for due in ("9999-12-31T20:00:00Z", "9999-12-31T23:59:59+08:00", "0001-01-01T00:00:00Z"):
        response = client.post("/api/v1/process-definitions/dated/instances", json={"data": {"due": due}},
                               headers=people.auth("clerk"))
        assert response.status_code == 422 and response.json["details"]["element"] == "deadline", response.json
    assert client.get("/api/v1/instances", headers=people.auth("admin")).json["total"] == 0
    assert client.get("/api/v1/timers", headers=people.auth("ops")).status_code == 200
    fine = client.post("/api/v1/process-definitions/dated/instances", json={"data": {"due": "2027-01-01T09:00:00"}},
                       headers=people.auth("clerk"))
    assert fine.status_code == 201 and fine.json["timers"][0]["due_at"] == "2027-01-01T09:00:00+08:00"


def test_a_stored_time_that_shanghai_cannot_show_is_shown_in_utc(app, client, people):
    from app.timers.models import Timer

    assert upload(client, people, ("p.bpmn", simple("p"))).status_code == 201
    case = client.post("/api/v1/process-definitions/p/instances", json={}, headers=people.auth("clerk")).json
    with app.app_context():  # as a database written before the range checks may hold it
        db.session.add(Timer(instance_id=case["id"], task_id="t", element_id="e", name="远", kind="catch",
                             due_at=datetime(9999, 12, 31, 23, 0, tzinfo=UTC), state="waiting",
                             created_at=datetime(2026, 11, 25, tzinfo=UTC), attempts=0))
        db.session.commit()
    for user in ("ops", "boss", "admin"):
        listed = client.get("/api/v1/timers", headers=people.auth(user))
        assert listed.status_code == 200 and listed.json["items"][0]["due_at"] == "9999-12-31T23:00:00+00:00"
    assert client.get(f"/api/v1/instances/{case['id']}", headers=people.auth("clerk")).status_code == 200


def test_an_answer_that_fails_after_the_commit_says_the_write_happened(ctx, people):
    from app.people.models import Post

    probe = Blueprint("commit_probe", __name__)

    @probe.post("/_probe/write-then-overflow/<name>")
    def write_then_overflow(name: str):
        db.session.add(Post(name=name, kind="window_a"))
        db.session.commit()
        raise OverflowError("date value out of range")  # as rendering a stored value could

    @probe.post("/_probe/overflow-before/<name>")
    def overflow_before(name: str):
        db.session.add(Post(name=name, kind="window_a"))
        db.session.flush()
        raise OverflowError("date value out of range")

    ctx.register_blueprint(probe)
    client = ctx.test_client()
    after = client.post("/_probe/write-then-overflow/甲岗")
    assert after.status_code == 500 and after.json["code"] == "stored_but_unanswerable" and "已" in after.json["message"]
    before = client.post("/_probe/overflow-before/乙岗")
    assert before.status_code == 422
    with ctx.app_context():
        assert db.session.get(Post, "甲岗") is not None and db.session.get(Post, "乙岗") is None
