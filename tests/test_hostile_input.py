"""Input found by review and fuzzing: each gets a 4xx and changes nothing."""

from __future__ import annotations

import io

from tests.conftest import FIXTURES, deploy


def _upload(client, people, name: str, content: bytes):
    return client.post("/api/v1/process-definitions", data={"file": [(io.BytesIO(content), name)]},
                       headers=people.auth("analyst"), content_type="multipart/form-data")


def test_a_failed_upload_leaves_no_compiled_spec_behind(in_app, client, people):
    from app.definitions import service

    files = [(open(FIXTURES / "two_step.bpmn", "rb"), "a.bpmn"), (io.BytesIO(b"<broken"), "z.bpmn")]
    response = client.post("/api/v1/process-definitions", data={"file": files}, headers=people.auth("analyst"),
                           content_type="multipart/form-data")
    files[0][0].close()
    assert response.status_code == 422
    assert in_app(service.compiled_cache) == {}
    assert client.get("/api/v1/process-definitions", headers=people.auth("clerk")).json["total"] == 0


def test_a_message_that_fails_for_one_case_moves_none(client, people):
    deploy(client, people, "reply_div.bpmn")
    ids = [client.post("/api/v1/process-definitions/reply_div/instances", json={"data": {"x": x}, "business_key": "BK9"},
                       headers=people.auth("clerk")).json["id"] for x in (1, 0)]
    sent = client.post("/api/v1/messages", json={"name": "higher_authority_reply", "business_key": "BK9"},
                       headers=people.auth("ops"))
    assert sent.status_code == 422 and sent.json["code"] == "case_failed"
    for case_id in ids:
        detail = client.get(f"/api/v1/instances/{case_id}", headers=people.auth("clerk")).json
        assert detail["state"] == "running" and detail["messages"], detail


def test_a_gbk_encoded_diagram_deploys(client, people):
    text = (FIXTURES / "two_step.bpmn").read_text(encoding="utf-8").replace('encoding="UTF-8"', 'encoding="GBK"')
    response = _upload(client, people, "gbk.bpmn", text.encode("gbk"))
    assert response.status_code == 201, response.json
    case = client.post("/api/v1/process-definitions/two_step/instances", json={}, headers=people.auth("clerk"))
    assert case.status_code == 201 and case.json["tasks"][0]["name"] == "受理"


def test_comments_inside_a_process_are_fine_and_a_process_needs_an_id(client, people):
    commented = (FIXTURES / "reply.bpmn").read_bytes().replace(b'<bpmn:startEvent id="start" />',
                                                               b'<!-- \xe6\xb3\xa8\xe9\x87\x8a --><bpmn:startEvent id="start" />')
    assert _upload(client, people, "commented.bpmn", commented).status_code == 201
    no_id = (FIXTURES / "waits.bpmn").read_bytes().replace(b'<bpmn:process id="waits"', b'<bpmn:process')
    response = _upload(client, people, "no_id.bpmn", no_id)
    assert response.status_code == 422 and response.json["details"]["file"] == "no_id.bpmn"


def test_non_standard_json_is_refused(client, people):
    deploy(client, people, "two_step.bpmn")
    for body in ('{"data": {"v": NaN}}', '{"data": {"v": -Infinity}}', '{"data": {"k": "\\ud800"}}',
                 "[" * 5000 + "]" * 5000):
        response = client.post("/api/v1/process-definitions/two_step/instances", data=body,
                               headers={**people.auth("clerk"), "Content-Type": "application/json"})
        assert 400 <= response.status_code < 500, (body[:30], response.status_code)
    assert client.get("/api/v1/instances", headers=people.auth("clerk")).json["total"] == 0


def test_a_start_date_past_year_9999_is_422(client, people):
    response = client.get("/api/v1/calendar/add-working-days", query_string={"from": "9999-12-30", "days": 5},
                          headers=people.auth("clerk"))
    assert response.status_code == 422


def test_anonymous_callers_get_401_before_their_body_is_read(client):
    response = client.post("/api/v1/process-definitions/two_step/instances", json={"data": [1]})
    assert response.status_code == 401
    listing = client.get("/api/v1/tasks", query_string={"state": "weird"})
    assert listing.status_code == 401
