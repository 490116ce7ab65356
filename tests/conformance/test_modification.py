"""Instance modification (ops): cancel an activity, start before another — 退回 to an earlier step, a move into or
out of a subprocess — through the HTTP API with the case restored from the database between steps; refusals
with the element's reason (409 for the case's state, 422 for a wrong instruction), a dry run changing nothing."""

from __future__ import annotations

import requests

from app.extensions import db


def modify(bpmn, case_id: str, *instructions: dict, expect: int = 200, user: str = "ops", **extra) -> dict:
    response = bpmn.http.post(f"{bpmn.api}/instances/{case_id}/modification", headers=bpmn._headers(user),
                              json={"instructions": list(instructions), **extra})
    assert response.status_code == expect, response.text
    return response.json()


def cancel(element: str | None = None, task_id: str | None = None) -> dict:
    return {"type": "cancel", **({"activityId": element} if element else {}),
            **({"activityInstanceId": task_id} if task_id else {})}


def start_before(element: str, **variables) -> dict:
    return {"type": "startBeforeActivity", "activityId": element, "variables": variables}


def at_review(bpmn) -> dict:
    bpmn.deploy("modification.bpmn")
    case = bpmn.start("conf_modify", {"applicant": "某某公司"})
    bpmn.complete(case["id"], "accept", {"materials": "齐全"})
    assert bpmn.open_elements(case["id"]) == ["review"]
    return case


def test_a_case_sent_back_to_an_earlier_step_runs_on_from_there(bpmn):
    case = at_review(bpmn)
    assert [t["element_id"] for t in bpmn.timers(case["id"])] == ["review_late"]
    result = modify(bpmn, case["id"], cancel("review"), start_before("accept", return_reason="材料不全"),
                    annotation="退回受理：材料不全")
    assert [c["element_id"] for c in result["cancelled"]] == ["review"]
    assert [s["element_id"] for s in result["started"]] == ["accept"]
    assert [(t["element_id"], t["new"]) for t in result["tasks"]] == [("accept", True)]
    assert bpmn.open_elements(case["id"]) == ["accept"]
    assert bpmn.timers(case["id"]) == []  # the review's deadline went with it
    [entry] = [e for e in bpmn.audit(case["id"]) if e["action"] == "instance.modified"]
    assert entry["actor"] == "ops" and entry["details"]["annotation"] == "退回受理：材料不全"
    bpmn.complete(case["id"], "accept", {"materials": "已补齐"})
    assert bpmn.open_elements(case["id"]) == ["review"]
    assert [t["element_id"] for t in bpmn.timers(case["id"])] == ["review_late"]  # a fresh deadline
    assert bpmn.case(case["id"])["data"]["return_reason"] == "材料不全"
    bpmn.complete(case["id"], "review")
    assert bpmn.open_elements(case["id"]) == ["visit"]


def test_a_dry_run_says_what_would_happen_and_changes_nothing(bpmn):
    case = at_review(bpmn)
    before = bpmn.tasks(case["id"])
    result = modify(bpmn, case["id"], cancel("review"), start_before("inspect"), dry_run=True)
    assert result["dry_run"] is True
    assert [t["element_id"] for t in result["tasks"]] == ["visit"] and result["timers"] == []
    assert bpmn.tasks(case["id"]) == before
    assert [t["element_id"] for t in bpmn.timers(case["id"])] == ["review_late"]
    assert not [e for e in bpmn.audit(case["id"]) if e["action"] == "instance.modified"]


def test_moves_into_within_and_out_of_a_subprocess(bpmn):
    case = at_review(bpmn)
    refused = modify(bpmn, case["id"], cancel("review"), start_before("record"), expect=409)
    assert refused["details"]["element"] == "record" and "子流程" in refused["message"]
    assert bpmn.open_elements(case["id"]) == ["review"]  # nothing changed
    modify(bpmn, case["id"], cancel("review"), start_before("inspect"))
    assert bpmn.open_elements(case["id"]) == ["visit"]
    modify(bpmn, case["id"], cancel("visit"), start_before("record"))  # the subprocess is active now
    assert bpmn.open_elements(case["id"]) == ["record"]
    modify(bpmn, case["id"], cancel("record"), start_before("review"), annotation="退回审核")
    assert bpmn.open_elements(case["id"]) == ["review"]  # the emptied subprocess ended with its last token
    bpmn.complete(case["id"], "review")
    bpmn.complete(case["id"], "visit")
    bpmn.complete(case["id"], "record")
    assert bpmn.open_elements(case["id"]) == ["countersign", "countersign"]


def test_multi_instance_in_flight_is_moved_whole_or_not_at_all(bpmn):
    case = at_review(bpmn)
    modify(bpmn, case["id"], cancel("review"), start_before("countersign"))
    first, second = bpmn.tasks(case["id"])
    one = modify(bpmn, case["id"], cancel(task_id=first["id"]), start_before("approve"), expect=409)
    assert one["details"]["element"] == "countersign" and "多实例" in one["message"]
    again = modify(bpmn, case["id"], start_before("countersign"), expect=409)
    assert "多实例" in again["message"]
    bpmn.complete(case["id"], "countersign")
    modify(bpmn, case["id"], cancel("countersign"), start_before("approve"), annotation="会签改为审批")
    assert bpmn.open_elements(case["id"]) == ["approve"]
    bpmn.complete(case["id"], "approve")
    assert bpmn.case(case["id"])["state"] == "completed"


def test_refusals_name_the_element_and_change_nothing(bpmn):
    case = at_review(bpmn)
    cases = [((cancel("nowhere"),), 422, "nowhere"), ((cancel("approve"),), 409, "approve"),
             ((start_before("review_late"),), 422, "review_late"), ((start_before("start"),), 422, "start"),
             ((cancel("review"),), 409, None)]  # the case would end with nothing started
    for instructions, status, element in cases:
        body = modify(bpmn, case["id"], *instructions, expect=status)
        assert set(body) == {"code", "message", "details"} and body["message"]
        if element:
            assert body["details"]["element"] == element, body
    modify(bpmn, case["id"], {"type": "startAfterActivity", "activityId": "accept"}, expect=422)
    modify(bpmn, case["id"], expect=422)  # no instructions
    assert bpmn.open_elements(case["id"]) == ["review"]
    assert [t["element_id"] for t in bpmn.timers(case["id"])] == ["review_late"]


def test_only_ops_modify_and_a_finished_case_is_refused(bpmn):
    case = at_review(bpmn)
    modify(bpmn, case["id"], cancel("review"), start_before("accept"), user="clerk", expect=403)
    modify(bpmn, case["id"], cancel("review"), start_before("accept"), user="admin")
    cancelled = bpmn.http.post(f"{bpmn.api}/instances/{case['id']}/cancel", json={"reason": "测试"},
                               headers=bpmn._headers("admin"))
    assert cancelled.status_code == 200, cancelled.text
    body = modify(bpmn, case["id"], cancel("accept"), start_before("review"), expect=409)
    assert body["details"]["state"] == "cancelled"


def test_an_external_task_is_moved_and_its_row_cancelled(bpmn):
    bpmn.deploy("external_task.bpmn")
    case = bpmn.start("conf_external", {})
    modify(bpmn, case["id"], cancel("issue_licence"), start_before("deliver"), annotation="证照已线下签发")
    assert bpmn.open_elements(case["id"]) == ["deliver"]
    worker = requests.get(bpmn.api.replace("/api/v1", "/engine-rest") + "/external-task",
                          params={"processInstanceId": case["id"], "state": "all"}, headers=bpmn._headers("ops"))
    assert [t["state"] for t in worker.json()] == ["cancelled"]
    modify(bpmn, case["id"], cancel("deliver"), start_before("issue_licence"))
    open_ = requests.get(bpmn.api.replace("/api/v1", "/engine-rest") + "/external-task",
                         params={"processInstanceId": case["id"]}, headers=bpmn._headers("ops")).json()
    assert [t["activityId"] for t in open_] == ["issue_licence"]


def test_the_halls_move_sends_a_task_back_with_a_reason(bpmn):
    from app.instances import modification
    from app.instances.models import ProcessInstance

    case = at_review(bpmn)
    [review] = bpmn.tasks(case["id"])
    with bpmn.app.app_context():
        instance = db.session.get(ProcessInstance, case["id"])
        planned = modification.move(instance, review["id"], "accept", actor="approver", reason="材料不全",
                                    dry_run=True)
        assert [t["element_id"] for t in planned["tasks"]] == ["accept"]
        db.session.remove()
    assert bpmn.open_elements(case["id"]) == ["review"]
    with bpmn.app.app_context():
        instance = db.session.get(ProcessInstance, case["id"])
        done = modification.move(instance, review["id"], "accept", actor="approver", reason="材料不全")
        db.session.remove()
    assert [t["element_id"] for t in done["tasks"]] == ["accept"]
    [entry] = [e for e in bpmn.audit(case["id"]) if e["action"] == "instance.moved"]
    assert entry["actor"] == "approver" and entry["details"]["annotation"] == "材料不全"
    assert bpmn.open_elements(case["id"]) == ["accept"]
    stale = bpmn.http.post(f"{bpmn.api}/tasks/{review['id']}/complete", json={"data": {}},
                           headers=bpmn._headers("admin"))
    assert stale.status_code == 409  # the sent-back task is no longer open
