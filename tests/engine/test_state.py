"""Case state: data is data whatever its keys, every stored case loads again, older formats migrate."""

from __future__ import annotations

import json

from app.engine.case import Case
from app.engine.compiler import compile_bpmn
from app.engine.state import SERIALIZER_VERSION, STATE_FORMAT
from tests.conformance.conftest import DIAGRAMS, forget_live_cases

POISON = {
    "x": {"typename": "nope"},
    "y": {"typename": "datetime", "value": "2020-01-01T00:00:00"},
    "z": [{"typename": "BpmnEvent", "event_definition": None}],
    "__class__": "os.system",
    "nested": {"a": [[{"typename": "UUID", "value": "not-a-uuid"}]]},
    "中文键": "值",
}


def _process(name: str = "event_gateway.bpmn"):
    return compile_bpmn((DIAGRAMS / name).read_bytes(), name)[0]


def test_data_that_looks_like_a_stored_object_is_restored_as_exactly_that_json():
    process = _process()
    case = Case.start(process, POISON)
    again = Case.load(process, case.dump())
    assert {k: again.data()[k] for k in POISON} == POISON


def test_a_stored_state_carries_both_versions():
    state = json.loads(Case.start(_process(), {}).dump())
    assert state["serializer_version"] == SERIALIZER_VERSION and state["format"] == STATE_FORMAT


def test_an_older_serializer_version_runs_spiffworkflows_migrations():
    process = _process()
    state = json.loads(Case.start(process, {"k": 1}).dump())
    state["serializer_version"] = "1.4"  # the event-based gateway's layout changed in 1.5
    case = Case.load(process, json.dumps(state))
    assert case.data()["k"] == 1 and [t.element_id for t in case.snapshot().timers] == ["wait"]


def test_our_first_format_reads_as_the_current_one():
    process = _process()
    state = json.loads(Case.start(process, {"k": 1}).dump())
    state["format"] = "tongban-1"
    assert Case.load(process, json.dumps(state)).data()["k"] == 1


def test_poisoned_payloads_load_after_a_restart_through_the_api(client, people, app):
    answer = client.post("/api/v1/process-definitions", headers=people.auth("analyst"),
                         data={"file": [(open(DIAGRAMS / "event_gateway.bpmn", "rb"), "event_gateway.bpmn")]},
                         content_type="multipart/form-data")
    assert answer.status_code == 201, answer.json
    started = client.post("/api/v1/process-definitions/conf_event_gateway/instances", headers=people.auth("admin"),
                          json={"data": POISON, "business_key": "POISON-1"})
    assert started.status_code == 201, started.json
    case_id = started.json["id"]
    forget_live_cases(app)  # a restart, or another worker: the case comes back from the database
    reply = client.post("/api/v1/messages", headers=people.auth("admin"),
                        json={"name": "conf_reply", "business_key": "POISON-1", "data": {"answer": POISON}})
    assert reply.status_code == 200, reply.json
    forget_live_cases(app)
    [task] = client.get(f"/api/v1/tasks?instance={case_id}", headers=people.auth("admin")).json["items"]
    done = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=people.auth("admin"),
                       json={"data": {"extra": {"typename": "TaskState"}}})
    assert done.status_code == 200, done.json
    forget_live_cases(app)
    final = client.get(f"/api/v1/instances/{case_id}", headers=people.auth("admin")).json
    assert final["state"] == "completed"
    assert final["data"]["answer"] == POISON and final["data"]["extra"] == {"typename": "TaskState"}
    assert all(final["data"][k] == v for k, v in POISON.items())


def test_cancel_loads_a_poisoned_case_after_a_restart(client, people, app):
    client.post("/api/v1/process-definitions", headers=people.auth("analyst"),
                data={"file": [(open(DIAGRAMS / "event_gateway.bpmn", "rb"), "event_gateway.bpmn")]},
                content_type="multipart/form-data")
    started = client.post("/api/v1/process-definitions/conf_event_gateway/instances", headers=people.auth("admin"),
                          json={"data": POISON})
    forget_live_cases(app)
    cancelled = client.post(f"/api/v1/instances/{started.json['id']}/cancel", headers=people.auth("admin"),
                            json={"reason": "测试"})
    assert cancelled.status_code == 200, cancelled.json


def test_json_nested_too_deep_is_refused_at_the_door_and_changes_nothing(client, people):
    deep: dict = {}
    node = deep
    for _ in range(200):
        node["d"] = {}
        node = node["d"]
    answer = client.post("/api/v1/process-definitions/anything/instances", headers=people.auth("admin"),
                         json={"data": deep})
    assert answer.status_code == 422 and answer.json["details"]["max_depth"] == 32
