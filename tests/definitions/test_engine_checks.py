"""Deploy-time checks that need the engine: conditions and scripts compile (422 naming file and element, or
reported by a dry run), called processes exist or are reported as resolved at call time (a warning)."""

from __future__ import annotations

import io

from tests.conftest import FIXTURES

API = "/api/v1/process-definitions"
TWO_STEP = (FIXTURES / "two_step.bpmn").read_bytes()


def _upload(client, people, files: list[tuple[str, bytes]], query: str = ""):
    return client.post(f"{API}{query}", data={"file": [(io.BytesIO(c), n) for n, c in files]},
                       headers=people.auth("analyst"), content_type="multipart/form-data")


def _broken_condition() -> bytes:
    return TWO_STEP.replace(b'decision == "grant"', b'decision == = "grant"')


def test_a_condition_with_a_syntax_error_is_refused_naming_file_and_element(client, people):
    answer = _upload(client, people, [("two_step.bpmn", _broken_condition())])
    assert answer.status_code == 422, answer.json
    problem = answer.json["details"]["problems"][0]
    assert problem["code"] == "invalid_expression" and problem["file"] == "two_step.bpmn"
    assert problem["element"] == "f6" and problem["line"] and "gw_decision" in problem["message"]
    assert "无法编译" in answer.json["message"]
    assert client.get(f"{API}/two_step", headers=people.auth("analyst")).status_code == 404


def test_a_dry_run_reports_the_broken_condition_and_stores_nothing(client, people):
    answer = _upload(client, people, [("two_step.bpmn", _broken_condition())], "?dry_run=true")
    assert answer.status_code == 200 and answer.json["dry_run"] is True
    assert [(e["file"], e["element"], e["code"]) for e in answer.json["errors"]] == \
        [("two_step.bpmn", "f6", "invalid_expression")]
    assert client.get(f"{API}/two_step", headers=people.auth("analyst")).status_code == 404


def test_a_script_that_does_not_compile_is_refused(client, people):
    content = TWO_STEP.replace(
        b'<bpmn:sequenceFlow id="f2" sourceRef="accept" targetRef="approve" />',
        b'<bpmn:sequenceFlow id="f2" sourceRef="accept" targetRef="calc" />'
        b'<bpmn:scriptTask id="calc" name="calc"><bpmn:script>total = (1 +</bpmn:script></bpmn:scriptTask>'
        b'<bpmn:sequenceFlow id="f2b" sourceRef="calc" targetRef="approve" />')
    answer = _upload(client, people, [("two_step.bpmn", content)])
    assert answer.status_code == 422, answer.json
    assert answer.json["details"]["element"] == "calc" and answer.json["details"]["kind"] == "script"


def test_a_timer_expression_goes_through_the_same_check(client, people):
    content = TWO_STEP.replace(b">PT1H<", b">${due date}<")
    answer = _upload(client, people, [("two_step.bpmn", content)])
    assert answer.status_code == 422 and answer.json["details"]["element"] == "approve_overdue", answer.json


def test_a_called_process_not_deployed_is_a_warning_resolved_at_call_time(client, people):
    caller = (FIXTURES.parent / "conformance" / "diagrams" / "call_caller.bpmn").read_bytes()
    answer = _upload(client, people, [("call_caller.bpmn", caller)])
    assert answer.status_code == 201, answer.json
    warnings = [w for w in answer.json["warnings"] if w["code"] == "resolved_at_call_time"]
    assert {w["element"] for w in warnings} == {"call_latest", "call_v1"}
    assert all(w["called_element"] == "conf_callee" and "resolved at call time" in w["message"] for w in warnings)


def test_a_called_process_deployed_before_or_in_the_same_upload_is_no_warning(client, people):
    diagrams = FIXTURES.parent / "conformance" / "diagrams"
    callee = (diagrams / "call_callee.bpmn").read_bytes()
    caller = (diagrams / "call_caller.bpmn").read_bytes()
    together = _upload(client, people, [("call_caller.bpmn", caller), ("call_callee.bpmn", callee)])
    assert together.status_code == 201, together.json
    assert not [w for w in together.json["warnings"] if w["code"] == "resolved_at_call_time"]
    again = _upload(client, people, [("call_caller.bpmn", caller + b"\n")])
    assert not [w for w in again.json["warnings"] if w["code"] == "resolved_at_call_time"]
