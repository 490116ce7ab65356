"""Caps: a page of cases is a page of summaries (the detail has the data), a case's stored state has a size limit
(a clear 422, nothing stored), and timer rows say what happened to them: fired, cancelled, or superseded by a
step that won the race."""

from __future__ import annotations

from app.timers import service as timers
from tests.conftest import deploy
from tests.guards.diagrams import simple, upload


def test_a_list_of_cases_carries_no_case_data(client, people):
    assert upload(client, people, ("p.bpmn", simple("p"))).status_code == 201
    bulky = {"notes": ["甲" * 1000] * 30}  # ~90 KB of data per case
    ids = [client.post("/api/v1/process-definitions/p/instances", json={"data": bulky},
                       headers=people.auth("clerk")).json["id"] for _ in range(12)]
    listed = client.get("/api/v1/instances", query_string={"limit": 500}, headers=people.auth("admin"))
    assert listed.status_code == 200 and listed.json["total"] == 12
    assert len(listed.data) < 20_000, len(listed.data)
    assert all("data" not in item and item["state"] == "running" for item in listed.json["items"])
    detail = client.get(f"/api/v1/instances/{ids[0]}", headers=people.auth("clerk")).json
    assert detail["data"] == bulky


def test_a_case_larger_than_its_limit_is_refused_and_nothing_is_stored(app, client, people):
    app.config["CASE_MAX_STATE_BYTES"] = 200_000
    assert upload(client, people, ("p.bpmn", simple("p"))).status_code == 201
    response = client.post("/api/v1/process-definitions/p/instances", json={"data": {"blob": "x" * 300_000}},
                           headers=people.auth("clerk"))
    assert response.status_code == 422 and response.json["code"] == "limit_exceeded", response.json
    assert response.json["details"]["kind"] == "state" and response.json["details"]["incident"] is None
    assert client.get("/api/v1/instances", headers=people.auth("admin")).json["total"] == 0
    case = client.post("/api/v1/process-definitions/p/instances", json={"data": {"small": 1}},
                       headers=people.auth("clerk")).json
    work = case["tasks"][0]["id"]
    grown = client.post(f"/api/v1/tasks/{work}/complete", json={"data": {"blob": "y" * 300_000}},
                        headers=people.auth("clerk"))
    assert grown.status_code == 422 and grown.json["details"]["kind"] == "state", grown.json
    detail = client.get(f"/api/v1/instances/{case['id']}", headers=people.auth("clerk")).json
    assert detail["state"] == "running" and detail["data"] == {"small": 1} and detail["tasks"][0]["id"] == work


def test_timer_rows_say_fired_cancelled_or_superseded(in_app, client, people, clock):
    deploy(client, people, "two_step.bpmn")  # approve has a non-interrupting PT1H boundary timer

    def approve_step(case_id: str) -> str:
        return next(t["id"] for t in client.get(f"/api/v1/instances/{case_id}", headers=people.auth("admin"))
                    .json["tasks"] if t["element_id"] == "approve")

    cases = []
    for _ in range(3):
        case = client.post("/api/v1/process-definitions/two_step/instances", json={}, headers=people.auth("clerk")).json
        client.post(f"/api/v1/tasks/{case['tasks'][0]['id']}/complete", json={"data": {"applicant": "甲", "materials_complete": True}},
                    headers=people.auth("clerk"))
        cases.append(case["id"])
    early, late, fired = cases
    # completed before its timer was due: cancelled
    assert client.post(f"/api/v1/tasks/{approve_step(early)}/complete", json={"data": {"decision": "grant"}},
                       headers=people.auth("approver")).status_code == 200
    clock.advance(hours=2)  # both other timers are due now, the scheduler has not run yet
    # completed after its timer was due, before the scheduler fired it: the completion won the race
    assert client.post(f"/api/v1/tasks/{approve_step(late)}/complete", json={"data": {"decision": "grant"}},
                       headers=people.auth("approver")).status_code == 200
    assert in_app(timers.fire_due) == 1  # only the third case's timer is still there to fire
    by_state = {}
    for state in ("cancelled", "superseded", "fired"):
        for row in client.get("/api/v1/timers", query_string={"state": state}, headers=people.auth("ops")).json["items"]:
            by_state[row["instance_id"]] = state
    assert by_state == {early: "cancelled", late: "superseded", fired: "fired"}, by_state
