"""Event-based gateways: message against message, message against timer, message against signal, and a gateway
inside a subprocess while another branch is open. Every step restores its case from the database.

A case that ends right after its gateway keeps the gateway (and the events it has seen) in its stored state,
as does a gateway in a subprocess beside an open branch: those states must be stored and read back.
"""

from __future__ import annotations


def _waiting(case: dict) -> list[str]:
    return sorted(m["name"] for m in case["messages"])


def test_message_against_message_the_first_one_wins_and_the_case_ends_at_once(bpmn):
    bpmn.deploy("event_gateways.bpmn")
    case = bpmn.start("conf_gateway_messages")
    assert _waiting(bpmn.case(case["id"])) == ["conf_approve", "conf_reject"]
    assert [t["element_id"] for t in bpmn.timers(case["id"])] == ["wait"]
    answer = bpmn.message("conf_reject", {"reason": "材料不全"}, instance_id=case["id"])
    assert answer["delivered_to"] == [case["id"]]
    done = bpmn.case(case["id"])
    assert done["state"] == "completed", done
    assert done["data"]["reason"] == "材料不全" and done["messages"] == []
    assert bpmn.timers(case["id"]) == []  # the timer went with the gateway
    assert "end_rejected" in bpmn.steps(case["id"])
    bpmn.message("conf_approve", {}, instance_id=case["id"], expect=404)  # the other message is no longer awaited


def test_message_against_message_the_other_one(bpmn):
    bpmn.deploy("event_gateways.bpmn")
    case = bpmn.start("conf_gateway_messages", business_key="EGW-2")
    bpmn.message("conf_approve", {"approved_by": "区发改局"}, business_key="EGW-2")
    assert bpmn.open_elements(case["id"]) == ["handle_approval"]
    assert _waiting(bpmn.case(case["id"])) == []
    bpmn.message("conf_reject", {}, business_key="EGW-2", expect=404)
    bpmn.complete(case["id"], "handle_approval")
    done = bpmn.case(case["id"])
    assert done["state"] == "completed" and done["data"]["approved_by"] == "区发改局"


def test_the_timer_wins_when_neither_message_comes(bpmn):
    bpmn.deploy("event_gateways.bpmn")
    case = bpmn.start("conf_gateway_messages")
    bpmn.advance(hours=23)
    assert _waiting(bpmn.case(case["id"])) == ["conf_approve", "conf_reject"]
    bpmn.advance(hours=1, minutes=1)
    done = bpmn.case(case["id"])
    assert done["state"] == "completed" and done["messages"] == []
    assert "end_overdue" in bpmn.steps(case["id"])


def test_message_against_signal(bpmn):
    bpmn.deploy("event_gateways.bpmn")
    paid = bpmn.start("conf_gateway_signal")
    closed = bpmn.start("conf_gateway_signal")
    bpmn.message("conf_pay", {"amount": 120}, instance_id=paid["id"])
    assert bpmn.case(paid["id"])["state"] == "completed"
    answer = bpmn.signal("conf_close_all")
    assert answer["delivered_to"] == [closed["id"]]  # the paid case no longer waits for it
    assert bpmn.case(closed["id"])["state"] == "completed"
    assert "s_end_closed" in bpmn.steps(closed["id"]) and "s_end_paid" in bpmn.steps(paid["id"])
    bpmn.message("conf_pay", {}, instance_id=closed["id"], expect=404)


def test_a_gateway_inside_a_subprocess_beside_an_open_branch(bpmn):
    bpmn.deploy("event_gateways.bpmn")
    case = bpmn.start("conf_gateway_in_subprocess")
    assert bpmn.open_elements(case["id"]) == ["parallel_work"]
    assert _waiting(bpmn.case(case["id"])) == ["conf_sub_reply"]
    bpmn.message("conf_sub_reply", {"answer": "同意"}, instance_id=case["id"])
    assert bpmn.open_elements(case["id"]) == ["after_answer", "parallel_work"]
    assert bpmn.timers(case["id"]) == []
    bpmn.complete(case["id"], "after_answer")
    bpmn.complete(case["id"], "parallel_work")
    done = bpmn.case(case["id"])
    assert done["state"] == "completed" and done["data"]["answer"] == "同意"

    late = bpmn.start("conf_gateway_in_subprocess")
    bpmn.complete(late["id"], "parallel_work")
    bpmn.advance(hours=2, minutes=1)
    assert bpmn.open_elements(late["id"]) == ["after_answer"]
    assert "ask_end_late" in bpmn.steps(late["id"])
    bpmn.message("conf_sub_reply", {}, instance_id=late["id"], expect=404)


def test_a_case_that_cannot_be_saved_is_an_incident_and_stays_as_it_was(bpmn, monkeypatch):
    """Whatever keeps a step's new state from being stored (here: injected), the caller gets a 422 naming the
    incident, the case is exactly as it was stored, and ops see the step until the case moves on."""
    from app.engine import case as engine_case
    from app.engine.state import StateError

    real_dump = engine_case.dump_state

    def dump(workflow, extra=None):
        if any("poison" in task.data for task in workflow.get_tasks()):
            raise StateError("办件数据无法保存，只能包含 JSON 数据 (Poison 不是 JSON 数据)")
        return real_dump(workflow, extra)

    monkeypatch.setattr(engine_case, "dump_state", dump)
    bpmn.deploy("event_gateways.bpmn")
    case = bpmn.start("conf_gateway_in_subprocess", {"applicant": "甲"})
    before = bpmn.case(case["id"])
    refused = bpmn.complete(case["id"], "parallel_work", {"poison": True}, expect=422)
    assert refused["code"] == "case_not_saved" and refused["details"]["incident_id"].startswith("step-")
    again = bpmn.complete(case["id"], "parallel_work", {"poison": True}, expect=422)
    assert again["details"]["incident_id"] == refused["details"]["incident_id"]  # one incident, two attempts
    after = bpmn.case(case["id"])
    assert after["version"] == before["version"] and after["data"] == before["data"]
    assert bpmn.open_elements(case["id"]) == ["parallel_work"]
    headers = bpmn._headers("admin")
    listed = bpmn.http.get(f"{bpmn.api}/incidents", params={"instance": case["id"]}, headers=headers).json()
    [incident] = listed["items"]
    assert incident["kind"] == "refused_step" and incident["code"] == "case_not_saved"
    assert incident["attempts"] == 2 and incident["element_id"] and "JSON" in incident["error"]
    retry = bpmn.http.post(f"{bpmn.api}/incidents/{incident['id']}/retry", headers=headers)
    assert retry.status_code == 409  # ops cannot replay a clerk's submission
    bpmn.message("conf_sub_reply", {"answer": "同意"}, instance_id=case["id"])  # another step goes through
    listed = bpmn.http.get(f"{bpmn.api}/incidents", params={"instance": case["id"]}, headers=headers).json()
    assert listed["items"] == []
    assert bpmn.http.get(f"{bpmn.api}/incidents/{incident['id']}", headers=headers).status_code == 404
    bpmn.complete(case["id"], "parallel_work", {"note": "好"})
    assert bpmn.open_elements(case["id"]) == ["after_answer"]


def test_a_message_or_signal_event_naming_nothing_is_refused_at_deploy(bpmn):
    """No messageRef/signalRef and no name of its own: nothing could ever be sent to it (it was a 500 at start)."""
    from tests.conformance.conftest import DIAGRAMS

    text = (DIAGRAMS / "event_gateways.bpmn").read_text(encoding="utf-8").replace(
        '<bpmn:intermediateCatchEvent id="s_closed" name="统一关闭">', '<bpmn:intermediateCatchEvent id="s_closed">'
    ).replace('<bpmn:signalEventDefinition id="s_sed" signalRef="Signal_close"/>',
              '<bpmn:signalEventDefinition id="s_sed"/>')
    response = bpmn.http.post(f"{bpmn.api}/process-definitions", files=[("file", ("unnamed.bpmn", text.encode()))],
                              headers=bpmn._headers("analyst"))
    assert response.status_code == 422, response.text
    # the gateway awaits its events (SpiffWorkflow moves them onto it)
    assert response.json()["details"]["element"] == "s_wait" and "信号" in response.json()["message"]
