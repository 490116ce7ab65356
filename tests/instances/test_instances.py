"""Cases: start, read, list, cancel, messages, audit, and two writers on one case."""

from __future__ import annotations

import threading

from app.extensions import db
from app.instances.models import ProcessInstance
from tests.conftest import deploy


def _start(client, people, key, business_key=None, data=None):
    response = client.post(f"/api/v1/process-definitions/{key}/instances",
                           json={"data": data or {}, "business_key": business_key}, headers=people.auth("clerk"))
    assert response.status_code == 201, response.json
    return response.json


def test_start_unknown_key_is_404_and_bad_body_is_422(client, people):
    missing = client.post("/api/v1/process-definitions/nope/instances", json={}, headers=people.auth("clerk"))
    assert missing.status_code == 404 and missing.json["code"] == "not_found"
    deploy(client, people, "two_step.bpmn")
    wrong = client.post("/api/v1/process-definitions/two_step/instances", json={"data": [1, 2]},
                        headers=people.auth("clerk"))
    assert wrong.status_code == 422 and "data" in wrong.json["details"]["json"]
    assert client.get("/api/v1/instances/none", headers=people.auth("clerk")).status_code == 404


def test_list_filters_and_paging(client, people):
    deploy(client, people, "two_step.bpmn", "reply.bpmn")
    for n in range(3):
        _start(client, people, "two_step", business_key=f"BK-{n}")
    _start(client, people, "reply", business_key="BK-R")
    everything = client.get("/api/v1/instances", headers=people.auth("clerk")).json
    assert everything["total"] == 4
    page = client.get("/api/v1/instances", query_string={"key": "two_step", "limit": 2},
                      headers=people.auth("clerk")).json
    assert page["total"] == 3 and len(page["items"]) == 2
    one = client.get("/api/v1/instances", query_string={"business_key": "BK-R"}, headers=people.auth("clerk")).json
    assert one["total"] == 1 and one["items"][0]["process_key"] == "reply"


def test_message_reaches_the_waiting_case_by_business_key(client, people):
    deploy(client, people, "reply.bpmn")
    waiting = _start(client, people, "reply", business_key="SB-2026-001")
    other = _start(client, people, "reply", business_key="SB-2026-002")
    assert waiting["messages"] == [{"element_id": "wait_reply", "name": "higher_authority_reply"}]

    sent = client.post("/api/v1/messages", json={"name": "higher_authority_reply", "business_key": "SB-2026-001",
                                                 "data": {"higher_decision": "approved", "higher_opinion": "同意"}},
                       headers=people.auth("ops"))
    assert sent.status_code == 200 and sent.json["delivered_to"] == [waiting["id"]]
    detail = client.get(f"/api/v1/instances/{waiting['id']}", headers=people.auth("clerk")).json
    assert detail["data"]["higher_decision"] == "approved" and detail["messages"] == []
    assert [t["element_id"] for t in detail["tasks"]] == ["inform"]
    untouched = client.get(f"/api/v1/instances/{other['id']}", headers=people.auth("clerk")).json
    assert untouched["messages"] and not untouched["tasks"]

    again = client.post("/api/v1/messages", json={"name": "higher_authority_reply", "business_key": "SB-2026-001"},
                        headers=people.auth("ops"))
    assert again.status_code == 404
    uncorrelated = client.post("/api/v1/messages", json={"name": "higher_authority_reply"},
                               headers=people.auth("ops"))
    assert uncorrelated.status_code == 422


def test_audit_records_engine_steps_and_user_actions(client, people):
    deploy(client, people, "two_step.bpmn")
    case = _start(client, people, "two_step", data={"applicant": "甲"})
    trail = client.get(f"/api/v1/instances/{case['id']}/audit", headers=people.auth("clerk")).json["items"]
    actions = [(e["action"], e["element_id"]) for e in trail]
    assert ("engine.step", "start") in actions
    started = [e for e in trail if e["action"] == "instance.started"][0]
    assert started["actor"] == "clerk" and started["details"]["data"] == {"applicant": "甲"}


def test_two_writers_on_one_case_the_loser_gets_409(live_server, people):
    """Both load version n; the first commit wins, the second UPDATE finds no row at version n."""
    import requests

    from app.errors import Conflict
    from app.instances import runtime
    from tests.conftest import FIXTURES

    with open(FIXTURES / "two_step.bpmn", "rb") as handle:
        requests.post(f"{live_server}/api/v1/process-definitions", files={"file": ("two_step.bpmn", handle)},
                      headers=people.auth("analyst"), timeout=10).raise_for_status()
    case = requests.post(f"{live_server}/api/v1/process-definitions/two_step/instances", json={},
                         headers=people.auth("clerk"), timeout=10).json()
    task_id = case["tasks"][0]["id"]

    instance = db.session.get(ProcessInstance, case["id"])
    first = runtime.load(instance)  # writer one holds version n in memory
    db.session.expunge(instance)
    db.session.rollback()

    done = requests.post(f"{live_server}/api/v1/tasks/{task_id}/complete",  # writer two commits first
                         json={"data": {"applicant": "乙", "materials_complete": True}},
                         headers=people.auth("clerk2"), timeout=10)
    assert done.status_code == 200

    first.complete(task_id, {"applicant": "甲", "materials_complete": True})
    db.session.add(instance)
    try:
        runtime.save(instance, first, actor="clerk", action="task.completed", completed_task_id=task_id)
        raised = False
    except Conflict:
        raised = True
    assert raised
    stored = db.session.get(ProcessInstance, case["id"])
    assert stored.data["applicant"] == "乙"  # no lost update, no half-written case
    assert stored.version == case["version"] + 1


def test_concurrent_completions_over_http_one_wins(live_server, people):
    import requests

    from tests.conftest import FIXTURES

    with open(FIXTURES / "two_step.bpmn", "rb") as handle:
        requests.post(f"{live_server}/api/v1/process-definitions", files={"file": ("two_step.bpmn", handle)},
                      headers=people.auth("analyst"), timeout=10).raise_for_status()
    case = requests.post(f"{live_server}/api/v1/process-definitions/two_step/instances", json={},
                         headers=people.auth("clerk"), timeout=10).json()
    task_id = case["tasks"][0]["id"]
    results = []

    def complete(user):
        response = requests.post(f"{live_server}/api/v1/tasks/{task_id}/complete",
                                 json={"data": {"applicant": user, "materials_complete": True}},
                                 headers=people.auth(user), timeout=10)
        results.append(response.status_code)

    threads = [threading.Thread(target=complete, args=(u,)) for u in ("clerk", "clerk2", "clerk", "clerk2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results).count(200) == 1 and all(code in (200, 409) for code in results), results
    tasks = requests.get(f"{live_server}/api/v1/tasks", params={"instance": case["id"]},
                         headers=people.auth("approver"), timeout=10).json()
    assert [t["element_id"] for t in tasks["items"]] == ["approve"]
