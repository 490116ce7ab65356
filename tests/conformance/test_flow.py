"""Gateways, transactions, terminate ends, manual/send/receive tasks, implicit ends, messages between cases."""

from __future__ import annotations


def test_event_based_gateway_takes_the_message(bpmn):
    bpmn.deploy("event_gateway.bpmn")
    case = bpmn.start("conf_event_gateway", business_key="EG-1")
    assert [t["element_id"] for t in bpmn.timers(case["id"])] == ["wait"]
    bpmn.message("conf_reply", {"answer": "同意"}, business_key="EG-1")
    assert bpmn.open_elements(case["id"]) == ["read_reply"]
    assert bpmn.timers(case["id"]) == []
    bpmn.complete(case["id"], "read_reply")
    done = bpmn.case(case["id"])
    assert done["state"] == "completed" and done["data"]["answer"] == "同意"


def test_event_based_gateway_takes_the_timer(bpmn):
    bpmn.deploy("event_gateway.bpmn")
    case = bpmn.start("conf_event_gateway", business_key="EG-2")
    bpmn.advance(days=3, minutes=1)
    assert bpmn.open_elements(case["id"]) == ["remind"]
    bpmn.message("conf_reply", {}, business_key="EG-2", expect=404)  # nobody waits any more
    bpmn.complete(case["id"], "remind")
    assert bpmn.case(case["id"])["state"] == "completed"


def test_inclusive_gateway_takes_every_true_branch_and_joins_them(bpmn):
    bpmn.deploy("gateways.bpmn")
    both = bpmn.start("conf_gateways", {"fire": True, "area": 2000})
    assert bpmn.open_elements(both["id"]) == ["env_check", "fire_check"]
    bpmn.complete(both["id"], "fire_check")
    assert bpmn.open_elements(both["id"]) == ["env_check"]  # the join waits for the other taken branch
    bpmn.complete(both["id"], "env_check")
    assert bpmn.open_elements(both["id"]) == ["sign_a", "sign_b"]
    bpmn.complete(both["id"], "sign_b")
    bpmn.complete(both["id"], "sign_a")
    assert bpmn.case(both["id"])["state"] == "completed"

    neither = bpmn.start("conf_gateways", {"fire": False, "area": 10})
    assert bpmn.open_elements(neither["id"]) == ["basic_check"]  # the default flow


def test_transaction_cancel_end_leads_to_the_cancel_boundary(bpmn):
    bpmn.deploy("transaction.bpmn")
    case = bpmn.start("conf_transaction")
    bpmn.complete(case["id"], "book", {"choice": "cancel"})
    assert bpmn.open_elements(case["id"]) == ["notify_cancel"]
    bpmn.complete(case["id"], "notify_cancel")
    assert bpmn.case(case["id"])["state"] == "completed"


def test_transaction_error_end_leads_to_the_error_boundary_and_success_to_the_normal_end(bpmn):
    bpmn.deploy("transaction.bpmn")
    failing = bpmn.start("conf_transaction")
    bpmn.complete(failing["id"], "book", {"choice": "error"})
    assert bpmn.open_elements(failing["id"]) == ["notify_error"]
    passing = bpmn.start("conf_transaction")
    bpmn.complete(passing["id"], "book", {"choice": "ok"})
    assert bpmn.case(passing["id"])["state"] == "completed"
    assert "end" in bpmn.steps(passing["id"])


def test_terminate_end_event_ends_every_branch(bpmn):
    bpmn.deploy("terminate_and_tasks.bpmn")
    case = bpmn.start("conf_terminate")
    assert bpmn.open_elements(case["id"]) == ["archive", "decide"]
    bpmn.complete(case["id"], "decide")
    assert bpmn.open_elements(case["id"]) == []
    assert bpmn.case(case["id"])["state"] == "completed"


def test_manual_send_and_receive_tasks_and_an_activity_without_outgoing_flow(bpmn):
    bpmn.deploy("terminate_and_tasks.bpmn")
    case = bpmn.start("conf_task_kinds", business_key="TK-1")
    [manual] = bpmn.tasks(case["id"])
    assert (manual["element_id"], manual["post"]) == ("hand_over", "测试受理岗")
    bpmn.complete(case["id"], "hand_over", {"handed": True})
    assert bpmn.open_elements(case["id"]) == []
    assert any(e["action"] == "message.undelivered" for e in bpmn.audit(case["id"]))  # nobody waits for it
    bpmn.message("conf_ack", {"ack": "收到"}, business_key="TK-1")
    assert bpmn.open_elements(case["id"]) == ["open_end_task"]
    bpmn.complete(case["id"], "open_end_task")  # no outgoing flow: the path ends here (implicit end)
    done = bpmn.case(case["id"])
    assert done["state"] == "completed" and done["data"]["ack"] == "收到"


def test_a_thrown_message_starts_a_case_whose_end_message_answers_the_thrower(bpmn):
    bpmn.deploy("between_cases.bpmn")
    requester = bpmn.start("conf_requester", {"item": "复印件"}, business_key="BC-1")
    bpmn.complete(requester["id"], "prepare", {"copies": 3})
    started = bpmn.http.get(f"{bpmn.api}/instances", params={"key": "conf_handler"},
                            headers=bpmn._headers("admin")).json()["items"]
    assert len(started) == 1 and started[0]["business_key"] == "BC-1"
    handler = started[0]["id"]
    assert bpmn.open_elements(handler) == ["handle"]
    assert bpmn.case(handler)["data"]["copies"] == 3  # the message carried the thrower's data
    bpmn.complete(handler, "handle", {"result": "已办"})
    assert bpmn.case(handler)["state"] == "completed"
    done = bpmn.case(requester["id"])
    assert done["state"] == "completed" and done["data"]["result"] == "已办"


def test_post_messages_starts_a_message_start_process_and_signals_start_signal_processes(bpmn):
    bpmn.deploy("between_cases.bpmn")
    answer = bpmn.message("conf_order", {"item": "证明"}, business_key="BC-2")
    assert answer["delivered_to"] == [] and len(answer["started"]) == 1
    assert bpmn.open_elements(answer["started"][0]) == ["handle"]
    signalled = bpmn.signal("conf_holiday", {"date": "2026-10-10"})
    assert len(signalled["started"]) == 1
    assert bpmn.open_elements(signalled["started"][0]) == ["s_read"]
    bpmn.message("conf_nobody_waits", {}, business_key="BC-2", expect=404)
    bpmn.signal("conf_nobody_listens")  # a signal nobody catches is simply not caught


def test_a_message_start_uses_the_current_version_not_a_withdrawn_one(bpmn):
    from tests.conformance.conftest import DIAGRAMS

    bpmn.deploy("between_cases.bpmn")
    changed = (DIAGRAMS / "between_cases.bpmn").read_text(encoding="utf-8").replace('name="办理委托"', 'name="办理委托（新）"')
    assert "办理委托（新）" in changed
    response = bpmn.http.post(f"{bpmn.api}/process-definitions", files=[("file", ("between_cases.bpmn", changed.encode()))],
                              headers=bpmn._headers("analyst"))
    assert response.status_code == 201, response.text
    withdrawn = bpmn.http.post(f"{bpmn.api}/process-definitions/conf_handler/versions/2/withdraw", json={},
                               headers=bpmn._headers("ops"))
    assert withdrawn.status_code == 200, withdrawn.text
    [started] = bpmn.message("conf_order", {"item": "证明"}, business_key="BC-W")["started"]
    assert bpmn.case(started)["definition_version"] == 1
