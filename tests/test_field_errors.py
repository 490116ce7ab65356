"""Field errors are Chinese (with the English in brackets) wherever the API validates a request, and business
keys are compared as the caller's system knows them (surrounding spaces dropped)."""

from __future__ import annotations

import re

import pytest

from tests.conftest import deploy

CJK = re.compile(r"[\u4e00-\u9fff]")


def _messages(details) -> list[str]:
    if isinstance(details, str):
        return [details]
    if isinstance(details, list):
        return [m for item in details for m in _messages(item)]
    if isinstance(details, dict):
        return [m for item in details.values() for m in _messages(item)]
    return []


@pytest.mark.parametrize(("method", "path", "body", "query"), [
    ("POST", "/api/v1/process-definitions/two_step/instances", {"data": [], "version": "x", "zz": 1}, None),
    ("POST", "/api/v1/messages", {"name": 5, "all": "maybe"}, None),
    ("GET", "/api/v1/tasks", None, {"state": "gone", "limit": 0}),
    ("GET", "/api/v1/supervision/warnings", None, {"state": "gone"}),
    ("POST", "/api/v1/case-status", {"case_number": 1}, None),
])
def test_every_field_error_is_in_chinese(client, people, method, path, body, query):
    assert deploy(client, people, "two_step.bpmn").status_code == 201
    response = client.open(path, method=method, json=body, query_string=query, headers=people.auth("center"))
    assert response.status_code == 422, response.json
    messages = _messages(response.json["details"])
    assert messages and all(CJK.search(m) for m in messages), messages
    assert CJK.search(response.json["message"])


def test_a_business_key_is_the_same_with_or_without_surrounding_spaces(client, people):
    assert deploy(client, people, "two_step.bpmn").status_code == 201
    start = "/api/v1/process-definitions/two_step/instances"
    first = client.post(start, json={"business_key": " CS-1 "}, headers=people.auth("clerk"))
    assert first.status_code == 201 and first.json["business_key"] == "CS-1", first.json
    blank = client.post(start, json={"business_key": "   "}, headers=people.auth("clerk"))
    assert blank.status_code == 422 and "业务号" in str(blank.json["details"]), blank.json
    control = client.post(start, json={"business_key": "CS\n2"}, headers=people.auth("clerk"))
    assert control.status_code == 422, control.json
