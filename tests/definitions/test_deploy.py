"""Deploying BPMN files: versions, validation, hostile XML, permissions."""

from __future__ import annotations

import io

from tests.conftest import FIXTURES, deploy


def _upload(client, people, name: str, content: bytes, as_user: str = "analyst"):
    return client.post("/api/v1/process-definitions", data={"file": [(io.BytesIO(content), name)]},
                       headers=people.auth(as_user), content_type="multipart/form-data")


def test_deploy_creates_version_one_then_same_content_is_not_new(client, people):
    first = deploy(client, people, "two_step.bpmn")
    assert first.status_code == 201, first.json
    item = first.json["items"][0]
    assert (item["key"], item["version"], item["created"]) == ("two_step", 1, True)

    again = deploy(client, people, "two_step.bpmn")
    assert again.status_code == 200
    assert again.json["items"][0]["version"] == 1
    assert again.json["items"][0]["created"] is False


def test_changed_content_makes_next_version_and_running_cases_keep_theirs(client, people):
    deploy(client, people, "two_step.bpmn")
    started = client.post("/api/v1/process-definitions/two_step/instances", json={"data": {}},
                          headers=people.auth("clerk"))
    assert started.status_code == 201
    changed = (FIXTURES / "two_step.bpmn").read_bytes().replace("审批".encode(), "复核审批".encode(), 1)
    second = _upload(client, people, "two_step.bpmn", changed)
    assert second.status_code == 201
    assert second.json["items"][0]["version"] == 2

    detail = client.get("/api/v1/process-definitions/two_step", headers=people.auth("clerk")).json
    assert detail["version"] == 2 and [v["version"] for v in detail["versions"]] == [2, 1]
    old_case = client.get(f"/api/v1/instances/{started.json['id']}", headers=people.auth("clerk")).json
    assert old_case["definition_version"] == 1
    new_case = client.post("/api/v1/process-definitions/two_step/instances", json={},
                           headers=people.auth("clerk")).json
    assert new_case["definition_version"] == 2


def test_malformed_xml_is_422_with_line_and_nothing_stored(client, people):
    response = _upload(client, people, "broken.bpmn", b"<bpmn:definitions xmlns:bpmn='x'>\n<oops>\n</bpmn:definitions>")
    assert response.status_code == 422
    body = response.json
    assert body["code"] == "invalid_definition"
    assert body["details"]["file"] == "broken.bpmn" and body["details"]["line"] >= 2
    listing = client.get("/api/v1/process-definitions", headers=people.auth("clerk")).json
    assert listing["total"] == 0


def test_schema_invalid_bpmn_names_the_file(client, people):
    bad = (FIXTURES / "two_step.bpmn").read_bytes().replace(b'<bpmn:endEvent id="end_granted" name="\xe5\x87\x86\xe4\xba\x88" />',
                                                          b'<bpmn:endEvent id="end_granted" bogus="1"><bpmn:nothing/></bpmn:endEvent>')
    response = _upload(client, people, "bad.bpmn", bad)
    assert response.status_code == 422
    assert response.json["details"]["file"] == "bad.bpmn"


def test_xxe_and_entity_expansion_are_refused(client, people):
    xxe = b"""<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">&x;</bpmn:definitions>"""
    bomb = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">&lol2;</bpmn:definitions>"""
    for content in (xxe, bomb):
        response = _upload(client, people, "evil.bpmn", content)
        assert response.status_code == 422
        assert "DOCTYPE" in response.json["message"]


def test_task_without_outgoing_flow_is_an_implicit_end(client, people):
    # BPMN (and SpiffWorkflow) end a path at an activity without an outgoing flow: such a diagram runs.
    open_ended = (FIXTURES / "reply.bpmn").read_bytes().replace(
        b'<bpmn:sequenceFlow id="f3" sourceRef="inform" targetRef="end" />', b"")
    response = _upload(client, people, "open_ended.bpmn", open_ended)
    assert response.status_code == 201, response.json


def test_bad_timer_value_is_refused(client, people):
    bad = (FIXTURES / "two_step.bpmn").read_bytes().replace(b">PT1H<", b">PT1X<")
    response = _upload(client, people, "timer.bpmn", bad)
    assert response.status_code == 422
    assert response.json["details"]["element"] == "approve_overdue"


def test_oversized_upload_is_413(client, people, app):
    big = b"<x>" + b" " * (app.config["MAX_CONTENT_LENGTH"] + 10) + b"</x>"
    response = _upload(client, people, "big.bpmn", big)
    assert response.status_code == 413
    assert response.json["code"] == "request_entity_too_large"


def test_only_analyst_or_ops_may_deploy(client, people):
    assert deploy(client, people, "two_step.bpmn", as_user="clerk").status_code == 403
    assert deploy(client, people, "two_step.bpmn", as_user="ops").status_code == 201
    no_token = client.post("/api/v1/process-definitions")
    assert no_token.status_code == 401 and no_token.json["code"] == "unauthorized"


def test_missing_file_field_is_400(client, people):
    response = client.post("/api/v1/process-definitions", headers=people.auth("analyst"))
    assert response.status_code == 400 and response.json["details"] == {"field": "file"}


def test_spec_is_parsed_once_per_version(client, people, monkeypatch):
    from app.definitions import service

    deploy(client, people, "two_step.bpmn")
    service._compiled.clear()
    calls = []
    original = service.compile_bpmn
    monkeypatch.setattr(service, "compile_bpmn", lambda *a, **k: calls.append(1) or original(*a, **k))
    for _ in range(3):
        assert client.post("/api/v1/process-definitions/two_step/instances", json={},
                           headers=people.auth("clerk")).status_code == 201
    assert len(calls) == 1


def test_dmn_and_a_diagram_that_calls_it(client, people):
    response = deploy(client, people, "fee_case.bpmn", "fee.dmn")
    assert response.status_code == 201, response.json
    kinds = {item["key"]: item["kind"] for item in response.json["items"]}
    assert kinds == {"fee_level": "dmn", "fee_case": "bpmn"}
    for area, expected in ((30, "小额"), (250, "大额")):
        case = client.post("/api/v1/process-definitions/fee_case/instances", json={"data": {"area": area}},
                           headers=people.auth("clerk")).json
        assert case["data"]["fee"] == expected
    cannot_start = client.post("/api/v1/process-definitions/fee_level/instances", json={},
                               headers=people.auth("clerk"))
    assert cannot_start.status_code == 422
