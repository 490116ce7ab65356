"""Collaborations: the pools of one file exchange messages as separate cases, without business keys.

A case started by another case's message joins its conversation, so replies find their way back (two pools,
three pools, either way); declared correlation keys (bpmn:correlationKey) find the case holding the same key
value even outside a conversation. Every step restores its cases from the database.
"""

from __future__ import annotations


def _started(bpmn, key: str) -> list[str]:
    response = bpmn.http.get(f"{bpmn.api}/instances", params={"key": key, "limit": 100},
                             headers=bpmn._headers("admin"))
    assert response.status_code == 200, response.text
    return [c["id"] for c in sorted(response.json()["items"], key=lambda c: c["started_at"])]


def _by_applicant(bpmn, key: str) -> list[str]:
    """The cases of `key`, in the order of their data's applicant (申请人0, 申请人1...)."""
    return sorted(_started(bpmn, key), key=lambda case: bpmn.case(case)["data"]["applicant"])


def _waiting(bpmn, case_id: str) -> list[str]:
    return sorted(m["name"] for m in bpmn.case(case_id)["messages"])


def test_two_pools_the_reply_returns_to_the_case_whose_message_started_the_other(bpmn):
    bpmn.deploy("collab_two_pools.bpmn")
    first = bpmn.start("conf_collab_window")["id"]
    second = bpmn.start("conf_collab_window")["id"]  # neither has a business key
    bpmn.complete(first, "draft_plan", {"plan": "甲方案"})
    bpmn.complete(second, "draft_plan", {"plan": "乙方案"})
    [review_first, review_second] = sorted(_started(bpmn, "conf_collab_approval"),
                                           key=lambda case: bpmn.case(case)["data"]["plan"] != "甲方案")
    assert bpmn.case(review_second)["data"]["plan"] == "乙方案"
    assert _waiting(bpmn, first) == ["conf_ask_info", "conf_decision"]

    bpmn.complete(review_second, "review_plan", {"need_info": False, "approved": False})  # the second conversation answers first
    assert bpmn.case(review_second)["state"] == "completed"
    assert bpmn.open_elements(second) == ["notify_refusal"]
    assert _waiting(bpmn, first) == ["conf_ask_info", "conf_decision"]  # the first case still waits
    assert bpmn.open_elements(first) == []

    bpmn.complete(review_first, "review_plan", {"need_info": False, "approved": True})
    assert bpmn.open_elements(first) == ["notify_grant"]
    for case, element in ((first, "notify_grant"), (second, "notify_refusal")):
        bpmn.complete(case, element)
        assert bpmn.case(case)["state"] == "completed"


def test_two_pools_messages_go_back_and_forth_in_both_directions(bpmn):
    bpmn.deploy("collab_two_pools.bpmn")
    window = bpmn.start("conf_collab_window")["id"]
    other = bpmn.start("conf_collab_window")["id"]
    bpmn.complete(window, "draft_plan", {"plan": "丙方案"})
    bpmn.complete(other, "draft_plan", {"plan": "丁方案"})
    review, other_review = sorted(_started(bpmn, "conf_collab_approval"),
                                  key=lambda case: bpmn.case(case)["data"]["plan"] != "丙方案")
    for _ in range(2):  # the approval side asks twice, the window answers twice
        bpmn.complete(review, "review_plan", {"need_info": True})
        assert bpmn.open_elements(window) == ["supply_info"]
        assert bpmn.open_elements(other) == []
        assert _waiting(bpmn, review) == ["conf_info"]
        bpmn.complete(window, "supply_info", {"need_info": False, "note": "已补充"})
        assert bpmn.open_elements(review) == ["review_plan"]
        assert bpmn.case(review)["data"]["note"] == "已补充"
    bpmn.complete(review, "review_plan", {"need_info": False, "approved": True})
    assert bpmn.open_elements(window) == ["notify_grant"]
    assert bpmn.open_elements(other_review) == ["review_plan"]  # untouched by the other conversation


def test_three_pools_replies_find_their_conversation_even_skipping_a_pool(bpmn):
    bpmn.deploy("collab_three_pools.bpmn")
    windows = [bpmn.start("conf_tri_window")["id"] for _ in range(2)]
    for n, case in enumerate(windows):
        bpmn.complete(case, "apply", {"applicant": f"申请人{n}"})
    depts = _by_applicant(bpmn, "conf_tri_dept")  # cases started within the same second: told apart by data
    experts = _by_applicant(bpmn, "conf_tri_expert")
    assert len(depts) == len(experts) == 2

    bpmn.complete(experts[1], "give_opinion", {"opinion": "同意"})  # to its department, a copy to its window
    assert bpmn.open_elements(depts[1]) == ["decide"] and bpmn.open_elements(depts[0]) == []
    assert _waiting(bpmn, windows[1]) == ["conf_tri_result"]
    assert _waiting(bpmn, windows[0]) == ["conf_tri_copy", "conf_tri_result"]
    bpmn.complete(depts[1], "decide", {"result": "准予"})
    assert bpmn.open_elements(windows[1]) == ["close_case"]
    assert bpmn.case(windows[1])["data"]["result"] == "准予"

    bpmn.complete(experts[0], "give_opinion", {"opinion": "不同意"})
    bpmn.complete(depts[0], "decide", {"result": "不予"})
    assert bpmn.open_elements(windows[0]) == ["close_case"]
    assert bpmn.case(windows[0])["data"]["opinion"] == "不同意"
    for case in windows:
        bpmn.complete(case, "close_case")
        assert bpmn.case(case)["state"] == "completed"


def test_declared_correlation_keys_find_the_case_outside_any_conversation(bpmn):
    bpmn.deploy("collab_keys.bpmn")
    first = bpmn.start("conf_key_applicant")["id"]
    second = bpmn.start("conf_key_applicant")["id"]
    bpmn.complete(first, "fill", {"application_no": "SQ-001"})
    bpmn.complete(second, "fill", {"application_no": "SQ-002"})
    assert len(_started(bpmn, "conf_key_archive")) == 2  # the requests were filed (and joined conversations)

    registry = bpmn.start("conf_key_registry")["id"]  # started by hand: in no conversation
    bpmn.complete(registry, "register", {"for_application": "SQ-002", "certificate": "登字第2号"})
    assert bpmn.open_elements(second) == ["hand_over"]
    assert bpmn.case(second)["data"]["certificate"] == "登字第2号"
    assert bpmn.open_elements(first) == [] and _waiting(bpmn, first) == ["conf_key_receipt"]

    stray = bpmn.start("conf_key_registry")["id"]  # a key nobody holds: on the thrower's record, nothing moves
    bpmn.complete(stray, "register", {"for_application": "SQ-999"})
    assert bpmn.case(stray)["state"] == "completed"
    assert "message.undelivered" in [e["action"] for e in bpmn.audit(stray)]
    assert _waiting(bpmn, first) == ["conf_key_receipt"]

    registry = bpmn.start("conf_key_registry")["id"]
    bpmn.complete(registry, "register", {"for_application": "SQ-001", "certificate": "登字第1号"})
    assert bpmn.case(first)["data"]["certificate"] == "登字第1号"
    assert bpmn.open_elements(first) == ["hand_over"]
