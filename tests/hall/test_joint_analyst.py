"""联办件 drawn by an analyst in Camunda Modeler: its own element ids, co-opinion steps without output mappings,
a decision on a generated form (`approved`) and end events declaring the outcome. Each department's opinion is
kept under it, and a dissent is not granted."""

from __future__ import annotations

import pytest

from tests.conftest import deploy


@pytest.fixture()
def joint(client, people):
    response = deploy(client, people, "analyst_joint.bpmn")
    assert response.status_code == 201, response.json
    started = client.post("/api/v1/process-definitions/analyst_joint/instances", json={"data": {}},
                          headers=people.auth("clerk"))
    assert started.status_code == 201, started.json
    return started.json["id"]


def _task(client, people, case_id, element):
    tasks = client.get(f"/api/v1/instances/{case_id}", headers=people.auth("center")).json["tasks"]
    return next(t for t in tasks if t["element_id"] == element)


def _complete(client, people, case_id, element, user, data):
    task = _task(client, people, case_id, element)
    return client.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": data}, headers=people.auth(user))


def _opinions(client, people, joint, wsj_agrees: bool):
    assert _complete(client, people, joint, "Activity_0acc", "clerk", {}).status_code == 200
    assert _complete(client, people, joint, "Activity_2cg0", "approver",
                     {"opinion": "同意。", "agree": True}).status_code == 200
    assert _complete(client, people, joint, "Activity_1hb0", "other",
                     {"opinion": "同意。" if wsj_agrees else "不同意：卫生条件不符。", "agree": wsj_agrees}).status_code == 200


def test_each_opinion_stays_under_its_department_and_a_dissent_is_not_granted(client, people, joint):
    _opinions(client, people, joint, wsj_agrees=False)
    data = client.get(f"/api/v1/instances/{joint}", headers=people.auth("center")).json["data"]
    assert data["opinions"]["wsj"]["agree"] is False and data["opinions"]["fgj"]["agree"] is True
    assert data["opinions"]["wsj"]["by"] == "other" and data["opinions"]["wsj"]["department"] == "wsj"
    assert "agree" not in data  # the opinions did not land flat, where the last one would overwrite the first
    granted = _complete(client, people, joint, "Activity_3dec", "approver", {"approved": True})
    assert granted.status_code == 409 and granted.json["code"] == "joint_dissent", granted.json
    assert granted.json["details"]["dissenting"] == ["wsj"]
    refused = _complete(client, people, joint, "Activity_3dec", "approver", {"approved": False})
    assert refused.status_code == 200, refused.json
    assert client.get(f"/api/v1/instances/{joint}", headers=people.auth("center")).json["state"] == "completed"


def test_when_every_department_agrees_the_grant_goes_through(client, people, joint):
    _opinions(client, people, joint, wsj_agrees=True)
    granted = _complete(client, people, joint, "Activity_3dec", "approver", {"approved": True})
    assert granted.status_code == 200, granted.json
    assert granted.json["instance_state"] == "completed"
