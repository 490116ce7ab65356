"""退回 (send back) and 撤回 (take back) through the API: the happy paths, each refusal with its status and Chinese
message, who may, a move of a case whose live workflow is gone (a restart), and nothing changed by a refusal."""

from __future__ import annotations

import pytest

from app.extensions import db
from tests.conftest import close_app, deploy

ACCEPT = {"applicant": "张三", "materials_complete": True}
REASON = "申请表签字页缺失，请重新核对材料"


class Desk:
    """Calls the API as the test hall's people; the fake clock moves a second before each write, as time does."""

    def __init__(self, client, people, clock) -> None:
        self.client, self.people, self.clock = client, people, clock

    def call(self, method: str, path: str, user: str, json=None):
        if method != "GET":
            self.clock.advance(seconds=1)
        return self.client.open(f"/api/v1{path}", method=method, json=json, headers=self.people.auth(user))

    def ok(self, method: str, path: str, user: str, json=None):
        response = self.call(method, path, user, json)
        assert response.status_code == 200, (path, response.status_code, response.json)
        return response.json

    def start(self, key: str = "send_back") -> str:
        response = self.call("POST", f"/process-definitions/{key}/instances", "clerk", json={"data": {"route": "plain"}})
        assert response.status_code == 201, response.json
        return response.json["id"]

    def open_tasks(self, case_id: str) -> list[dict]:
        return self.ok("GET", f"/instances/{case_id}", "admin")["tasks"]

    def task(self, case_id: str, element: str) -> dict:
        [task] = [t for t in self.open_tasks(case_id) if t["element_id"] == element]
        return task

    def complete(self, case_id: str, element: str, user: str, data=None) -> dict:
        task = self.task(case_id, element)
        if task["assignee"] is None:
            self.ok("POST", f"/tasks/{task['id']}/claim", user)
        self.ok("POST", f"/tasks/{task['id']}/complete", user, {"data": data or {}})
        return task

    def at_review(self, claimed: bool = True) -> tuple[str, dict, dict]:
        """A case whose acceptance the clerk completed, waiting at its review (claimed by the approver)."""
        case_id = self.start()
        accept = self.complete(case_id, "accept", "clerk", ACCEPT)
        review = self.task(case_id, "review")
        if claimed:
            self.ok("POST", f"/tasks/{review['id']}/claim", "approver")
        return case_id, accept, review

    def send_back(self, task_id: str, user: str, to: str = "accept", reason: str | None = REASON, expect=200):
        body = {"to": to} if reason is None else {"to": to, "reason": reason}
        response = self.call("POST", f"/tasks/{task_id}/send-back", user, body)
        assert response.status_code == expect, response.json
        if expect >= 400:
            assert set(response.json) == {"code", "message", "details"} and response.json["message"]
        return response.json

    def take_back(self, task_id: str, user: str, reason: str | None = None, expect=200):
        response = self.call("POST", f"/tasks/{task_id}/take-back", user, {"reason": reason} if reason else {})
        assert response.status_code == expect, response.json
        if expect >= 400:
            assert set(response.json) == {"code", "message", "details"} and response.json["message"]
        return response.json

    def audit(self, case_id: str) -> list[dict]:
        return self.ok("GET", f"/instances/{case_id}/audit", "admin")["items"]


@pytest.fixture()
def desk(client, people, clock):
    response = deploy(client, people, "send_back.bpmn", "two_step.bpmn")
    assert response.status_code in (200, 201), response.json
    return Desk(client, people, clock)


# -- 退回 ---------------------------------------------------------------------------------------------------------
def test_a_review_is_sent_back_to_the_acceptance_which_reopens_for_its_clerk_with_the_reason(desk):
    case_id, accept, review = desk.at_review()
    offered = desk.ok("GET", f"/tasks/{review['id']}/send-back", "approver")
    assert offered["may_send_back"] is True
    assert [(s["element_id"], s["name"], s["completed_by"], s["task_id"]) for s in offered["items"]] == [
        ("accept", "受理", "clerk", accept["id"])]

    moved = desk.send_back(review["id"], "approver")
    assert moved["task"]["id"] == review["id"] and moved["task"]["state"] == "cancelled"
    reopened = moved["reopened"]
    assert (reopened["element_id"], reopened["post"], reopened["assignee"], reopened["state"]) == (
        "accept", "测试受理岗", "clerk", "open")
    assert [t["id"] for t in moved["next_tasks"]] == [reopened["id"]] and moved["instance_state"] == "running"

    detail = desk.ok("GET", f"/tasks/{reopened['id']}", "clerk")
    returned = detail["returned"]
    assert (returned["kind"], returned["by"], returned["reason"], returned["from_step"], returned["from_element"]) \
        == ("sent_back", "approver", REASON, "审核", "review")
    assert returned["at"].endswith("+08:00")
    assert desk.ok("GET", f"/tasks/{review['id']}", "approver")["state"] == "cancelled"
    [entry] = [e for e in desk.audit(case_id) if e["action"] == "task.sent_back"]
    assert entry["actor"] == "approver" and entry["task_id"] == review["id"]
    assert {k: entry["details"][k] for k in ("reason", "from_element", "to_element", "reopened_task_id")} == {
        "reason": REASON, "from_element": "review", "to_element": "accept", "reopened_task_id": reopened["id"]}

    # the clerk does the acceptance again; the case runs on from there
    desk.ok("POST", f"/tasks/{reopened['id']}/complete", "clerk", {"data": ACCEPT})
    again = desk.task(case_id, "review")
    assert again["id"] != review["id"] and again["assignee"] is None
    assert desk.ok("GET", f"/tasks/{again['id']}", "clerk")["returned"] is None
    assert [s["task_id"] for s in desk.ok("GET", f"/tasks/{again['id']}/send-back", "clerk")["items"]] == [
        reopened["id"]]  # the latest acceptance


def test_the_choices_follow_the_path_and_a_supervisor_may_send_back_an_unclaimed_task(desk):
    case_id, accept, review = desk.at_review()
    desk.ok("POST", f"/tasks/{review['id']}/complete", "approver", {"data": {}})
    decide = desk.task(case_id, "decide")
    assert [s["element_id"] for s in desk.ok("GET", f"/tasks/{decide['id']}/send-back", "boss")["items"]] == [
        "accept", "review"]
    # the department's supervisor sends the unclaimed decision back to the review: it reopens for the approver
    moved = desk.send_back(decide["id"], "boss", to="review", reason="审核意见不完整")
    reopened = moved["reopened"]
    assert (reopened["element_id"], reopened["assignee"]) == ("review", "approver")
    # from the reopened review only the acceptance lies behind (the decision was never done)
    assert [s["element_id"] for s in desk.ok("GET", f"/tasks/{reopened['id']}/send-back", "approver")["items"]] \
        == ["accept"]
    desk.send_back(reopened["id"], "approver")
    accept_again = desk.task(case_id, "accept")
    choices = desk.ok("GET", f"/tasks/{accept_again['id']}/send-back", "clerk")
    assert choices["items"] == []  # nothing lies before the first step
    assert desk.send_back(accept_again["id"], "clerk", to="review", expect=409)["code"] == "not_an_earlier_step"


def test_refusals_of_a_send_back_change_nothing(desk, app):
    case_id, accept, review = desk.at_review()
    version = desk.ok("GET", f"/instances/{case_id}", "admin")["version"]
    body = desk.send_back(review["id"], "approver", reason=None, expect=422)
    assert body["details"]["json"] == {"reason": ["请填写退回理由"]}
    assert desk.send_back(review["id"], "approver", reason="   ", expect=422)["details"]["json"] == {
        "reason": ["请填写退回理由"]}
    assert desk.send_back(review["id"], "approver", reason="长" * 501, expect=422)["details"]["json"] == {
        "reason": ["理由不能超过500字"]}
    missing_to = desk.call("POST", f"/tasks/{review['id']}/send-back", "approver", {"reason": REASON})
    assert missing_to.status_code == 422 and missing_to.json["details"]["json"] == {"to": ["请选择退回到哪一环节"]}
    for to in ("nowhere", "review", "decide"):
        refused = desk.send_back(review["id"], "approver", to=to, expect=409)
        assert refused["code"] == "not_an_earlier_step" and refused["details"]["choices"] == ["accept"]
        assert "不是本办件" in refused["message"]
    # not the holder: a clerk of the post who has not claimed it, the acceptance's clerk, another department
    assert "认领" in desk.send_back(review["id"], "clerk", expect=403)["message"]
    assert desk.send_back(review["id"], "other", expect=404)
    assert desk.send_back(review["id"], "otherboss", expect=404)
    assert desk.send_back(review["id"], "ops", expect=403)
    # a completed task, then a finished case
    assert desk.send_back(accept["id"], "clerk", expect=409)["code"] == "task_not_open"
    assert desk.ok("GET", f"/instances/{case_id}", "admin")["version"] == version
    assert [t["id"] for t in desk.open_tasks(case_id)] == [review["id"]]
    with app.app_context():
        from app.audit.models import AuditEntry

        assert not db.session.scalar(db.select(AuditEntry.id).where(AuditEntry.action == "task.sent_back"))
    desk.ok("POST", f"/instances/{case_id}/cancel", "boss", {"reason": "申请人撤回申请"})
    refused = desk.send_back(review["id"], "approver", expect=409)
    assert refused["code"] == "task_not_open"


def test_a_case_that_is_not_running_is_refused(desk, app):
    case_id, accept, review = desk.at_review()
    with app.app_context():  # suspended with its definition (ops): the task stays open, the case does not run
        from app.instances.models import ProcessInstance

        db.session.get(ProcessInstance, case_id).state = "suspended"
        db.session.commit()
    refused = desk.send_back(review["id"], "approver", expect=409)
    assert refused["code"] == "not_running" and "已挂起" in refused["message"]


def test_the_engine_refuses_a_move_out_of_a_multi_instance_with_its_reason(desk):
    case_id, accept, review = desk.at_review()
    desk.ok("POST", f"/tasks/{review['id']}/complete", "approver", {"data": {"route": "countersign"}})
    first, second = [t for t in desk.open_tasks(case_id) if t["element_id"] == "countersign"]
    desk.ok("POST", f"/tasks/{first['id']}/claim", "approver")
    refused = desk.send_back(first["id"], "approver", to="review", expect=409)
    assert refused["code"] == "move_refused" and "多实例" in refused["message"]
    assert refused["details"]["element"] == "countersign"
    assert {t["id"] for t in desk.open_tasks(case_id)} == {first["id"], second["id"]}


def test_a_parallel_branch_is_not_sent_back_alone(desk):
    case_id, accept, review = desk.at_review()
    desk.ok("POST", f"/tasks/{review['id']}/complete", "approver", {"data": {"route": "parallel"}})
    check_a = desk.task(case_id, "check_a")
    desk.ok("POST", f"/tasks/{check_a['id']}/claim", "approver")
    refused = desk.send_back(check_a["id"], "approver", to="review", expect=409)
    assert refused["code"] == "parallel_branch" and "核查乙" in refused["message"]
    assert sorted(t["element_id"] for t in desk.open_tasks(case_id)) == ["check_a", "check_b"]


# -- 撤回 ---------------------------------------------------------------------------------------------------------
def test_a_clerk_takes_back_an_acceptance_while_the_review_is_unclaimed(desk):
    case_id, accept, review = desk.at_review(claimed=False)
    moved = desk.take_back(accept["id"], "clerk", reason="受理时勾选有误")
    assert moved["task"]["id"] == accept["id"] and moved["task"]["state"] == "completed"
    assert [(t["id"], t["state"]) for t in moved["cancelled"]] == [(review["id"], "cancelled")]
    reopened = moved["reopened"]
    assert (reopened["element_id"], reopened["assignee"], reopened["post"]) == ("accept", "clerk", "测试受理岗")
    returned = desk.ok("GET", f"/tasks/{reopened['id']}", "clerk")["returned"]
    assert (returned["kind"], returned["by"], returned["reason"], returned["from_task_id"]) == (
        "taken_back", "clerk", "受理时勾选有误", accept["id"])
    [entry] = [e for e in desk.audit(case_id) if e["action"] == "task.taken_back"]
    assert entry["task_id"] == accept["id"] and entry["details"]["cancelled"][0]["task_id"] == review["id"]
    # done again, the case goes on; the taken-back completion is no longer on the path
    desk.ok("POST", f"/tasks/{reopened['id']}/complete", "clerk", {"data": ACCEPT})
    again = desk.task(case_id, "review")
    assert [s["task_id"] for s in desk.ok("GET", f"/tasks/{again['id']}/send-back", "clerk")["items"]] == [
        reopened["id"]]
    assert desk.take_back(reopened["id"], "clerk")["reopened"]["element_id"] == "accept"  # no reason needed


def test_take_back_refusals(desk):
    case_id, accept, review = desk.at_review(claimed=False)
    assert "clerk 本人" in desk.take_back(accept["id"], "clerk2", expect=403)["message"]
    assert desk.take_back(accept["id"], "boss", expect=403)
    assert desk.take_back(accept["id"], "other", expect=404)
    assert desk.take_back(review["id"], "approver", expect=409)["code"] == "not_completed"  # still open
    desk.ok("POST", f"/tasks/{review['id']}/claim", "approver")
    refused = desk.take_back(accept["id"], "clerk", expect=409)
    assert refused["code"] == "successor_claimed" and refused["message"] == "下一环节「审核」已被 approver 认领，不能撤回"
    desk.ok("POST", f"/tasks/{review['id']}/unclaim", "approver")
    desk.ok("POST", f"/tasks/{review['id']}/claim", "approver")
    desk.ok("POST", f"/tasks/{review['id']}/complete", "approver", {"data": {}})
    refused = desk.take_back(accept["id"], "clerk", expect=409)  # the case moved on
    assert refused["code"] == "case_moved_on" and "新的进展" in refused["message"]
    # the reviewer takes back the review while the decision waits unclaimed; then the decision is done
    decide = desk.task(case_id, "decide")
    assert desk.take_back(review["id"], "approver")["reopened"]["assignee"] == "approver"
    assert desk.ok("GET", f"/tasks/{decide['id']}", "boss")["state"] == "cancelled"
    review2 = desk.task(case_id, "review")
    desk.ok("POST", f"/tasks/{review2['id']}/complete", "approver", {"data": {}})
    desk.complete(case_id, "decide", "approver", {"decision": "grant"})
    assert desk.ok("GET", f"/instances/{case_id}", "admin")["state"] == "completed"
    refused = desk.take_back(review2["id"], "approver", expect=409)
    assert refused["code"] == "not_running" and "已办结" in refused["message"]


def test_a_parallel_completion_is_not_taken_back_alone(desk):
    case_id, accept, review = desk.at_review()
    desk.ok("POST", f"/tasks/{review['id']}/complete", "approver", {"data": {"route": "parallel"}})
    check_a = desk.complete(case_id, "check_a", "approver")
    refused = desk.take_back(check_a["id"], "approver", expect=409)
    assert refused["code"] == "case_moved_on"  # its completion opened nothing: the branch waits at the join


# -- across a restart ----------------------------------------------------------------------------------------------
def test_a_case_sent_back_is_completed_by_a_fresh_app_and_a_take_back_too(desk, make_app, clock, people):
    case_id, accept, review = desk.at_review()
    reopened = desk.send_back(review["id"], "approver")["reopened"]

    def restarted():
        fresh = make_app()  # another worker, or this one restarted: no live workflow cached, the case from the database
        fresh.config["CLOCK"] = clock
        return fresh

    fresh = restarted()
    try:
        other = Desk(fresh.test_client(), people, clock)
        assert other.ok("GET", f"/tasks/{reopened['id']}", "clerk")["returned"]["reason"] == REASON
        other.ok("POST", f"/tasks/{reopened['id']}/complete", "clerk", {"data": ACCEPT})
        review2 = other.task(case_id, "review")
        assert review2["element_id"] == "review"
    finally:
        close_app(fresh)
    fresh = restarted()
    try:
        other = Desk(fresh.test_client(), people, clock)
        taken = other.take_back(reopened["id"], "clerk", reason="再核对一次")
        assert taken["cancelled"][0]["id"] == review2["id"]
    finally:
        close_app(fresh)
    fresh = restarted()
    try:
        other = Desk(fresh.test_client(), people, clock)
        accept3 = other.task(case_id, "accept")
        assert accept3["assignee"] == "clerk"
        other.ok("POST", f"/tasks/{accept3['id']}/complete", "clerk", {"data": ACCEPT})
        other.complete(case_id, "review", "approver")
        other.complete(case_id, "decide", "approver", {"decision": "grant"})
        assert other.ok("GET", f"/instances/{case_id}", "admin")["state"] == "completed"
    finally:
        close_app(fresh)
    actions = [e["action"] for e in desk.audit(case_id) if e["action"].startswith("task.")
               and e["action"] not in ("task.claimed", "task.assigned")]
    assert actions == ["task.completed", "task.sent_back", "task.completed", "task.taken_back", "task.completed",
                       "task.completed", "task.completed"]
