"""退回 and 撤回 in a real matter's case (企业投资项目备案: 受理 → 审核 → 审批决定 → 送达): the reopened step back with
its clerk (首问负责制; kept for them while away, AB岗), the move in the case's legal course, the legal clock going
on untouched (no second 受理, no second 受理通知书), and what the law made final not undone."""

from __future__ import annotations

import pytest

from app.extensions import db
from tests.web.conftest import KEY, hall  # noqa: F401  (the demo hall with the matter deployed)

REASON = "申请表与营业执照的企业名称不一致，请核对后重新受理"
REVIEW = {"opinion": "经审核，申请材料齐全，符合法定条件。", "recommendation": "grant"}
GRANT = {"decision": "grant", "opinion": "准予。", "result_no": "ZZ-0001"}


class Window:
    def __init__(self, app, clock) -> None:
        from app.people.auth import issue_token
        from app.people.models import User

        self.client, self.clock = app.test_client(), clock
        with app.app_context():
            self.tokens = {u.username: issue_token(u) for u in db.session.scalars(db.select(User))}
            db.session.commit()
            db.session.remove()

    def call(self, method: str, path: str, user: str, json=None):
        if method != "GET":
            self.clock.advance(minutes=5)
        return self.client.open(f"/api/v1{path}", method=method, json=json,
                                headers={"Authorization": f"Bearer {self.tokens[user]}"})

    def ok(self, method: str, path: str, user: str, json=None, status: int = 200):
        response = self.call(method, path, user, json)
        assert response.status_code == status, (path, response.status_code, response.json)
        return response.json

    def start(self) -> str:
        return self.ok("POST", f"/process-definitions/{KEY}/instances", "chenxiaodong", status=201, json={
            "data": {"applicant": "无锡某某科技有限公司"}})["id"]

    def task(self, case_id: str, element: str) -> dict:
        [task] = [t for t in self.ok("GET", f"/instances/{case_id}", "zhaolixin")["tasks"]
                  if t["element_id"] == element]
        return task

    def accept(self, case_id: str) -> dict:
        task = self.task(case_id, "accept")
        if task["assignee"] is None:
            self.ok("POST", f"/tasks/{task['id']}/claim", "chenxiaodong")
        checklist = self.ok("GET", f"/tasks/{task['id']}", "chenxiaodong")["prefill"]["materials"]
        self.ok("POST", f"/tasks/{task['id']}/complete", "chenxiaodong", {"data": {
            "outcome": "accept", "receipt_no": "SJ-0001",
            "materials": [{"name": m["name"], "received": True} for m in checklist]}})
        return task

    def complete(self, case_id: str, element: str, user: str, data: dict) -> dict:
        task = self.task(case_id, element)
        if task["assignee"] is None:
            self.ok("POST", f"/tasks/{task['id']}/claim", user)
        self.ok("POST", f"/tasks/{task['id']}/complete", user, {"data": data})
        return task

    def course(self, case_id: str) -> list[dict]:
        return self.ok("GET", f"/instances/{case_id}/course", "zhaolixin")["items"]

    def clock_of(self, case_id: str) -> dict:
        return self.ok("GET", f"/instances/{case_id}/clock", "zhaolixin")


@pytest.fixture()
def window(hall, clock):  # noqa: F811
    return Window(hall, clock)


def test_a_review_sent_back_to_the_acceptance_keeps_the_clock_and_the_notices(window):
    case_id = window.start()
    window.accept(case_id)
    before = window.clock_of(case_id)
    assert before["accepted_on"] and before["state"] == "running"
    review = window.task(case_id, "review")
    window.ok("POST", f"/tasks/{review['id']}/claim", "liuyang")
    choices = window.ok("GET", f"/tasks/{review['id']}/send-back", "liuyang")["items"]
    assert [(c["element_id"], c["name"], c["completed_by"]) for c in choices] == [("accept", "受理", "chenxiaodong")]

    moved = window.ok("POST", f"/tasks/{review['id']}/send-back", "liuyang", {"to": "accept", "reason": REASON})
    reopened = moved["reopened"]
    assert (reopened["post"], reopened["assignee"]) == ("发改局受理A岗", "chenxiaodong")  # 首问负责制
    assert window.ok("GET", f"/tasks/{reopened['id']}", "chenxiaodong")["returned"]["reason"] == REASON
    [event] = [e for e in window.course(case_id) if e["kind"] == "sent_back"]
    assert (event["name"], event["actor"], event["post"], event["element_id"]) == ("退回", "liuyang", "发改局审核岗",
                                                                                    "accept")
    assert {k: event["data"][k] for k in ("reason", "from_step", "to_step")} == {
        "reason": REASON, "from_step": "审核", "to_step": "受理"}

    after = window.clock_of(case_id)  # the legal clock goes on: not restarted, not paused
    for key in ("accepted_on", "due_date", "state", "paused_days", "promised_days"):
        assert after[key] == before[key], key
    window.accept(case_id)  # done again: the case is accepted already
    again = window.clock_of(case_id)
    assert (again["accepted_on"], again["due_date"]) == (before["accepted_on"], before["due_date"])
    assert [e["kind"] for e in again["events"]].count("accept") == 1
    kinds = [e["kind"] for e in window.course(case_id)]
    assert kinds.count("accepted") == 1 and kinds.count("sent_back") == 1
    notices = window.ok("GET", f"/instances/{case_id}/documents", "zhaolixin")["items"]
    assert [d["kind"] for d in notices].count("acceptance") == 1

    # the reviewer completes the review and takes it back while the decision waits unclaimed
    review2 = window.complete(case_id, "review", "liuyang", REVIEW)
    decide = window.task(case_id, "decide")
    taken = window.ok("POST", f"/tasks/{review2['id']}/take-back", "liuyang", {"reason": "审核意见需补充"})
    assert taken["reopened"]["assignee"] == "liuyang" and [t["id"] for t in taken["cancelled"]] == [decide["id"]]
    [event] = [e for e in window.course(case_id) if e["kind"] == "taken_back"]
    assert (event["name"], event["actor"], event["data"]["cancelled"]) == ("经办人撤回", "liuyang", ["审批决定"])
    assert window.clock_of(case_id)["due_date"] == before["due_date"]
    window.complete(case_id, "review", "liuyang", REVIEW)
    # the clerks' figures: the sent-back review was never done, the taken-back one is done once, when done again
    figures = window.ok("GET", "/statistics/clerks?from=2026-11-01&to=2026-11-30", "zhaolixin")["items"]
    steps = {i["username"]: i["steps_completed"] for i in figures}
    assert (steps["liuyang"], steps["chenxiaodong"]) == (1, 2)


def test_an_acceptance_that_issued_its_notice_is_not_taken_back(window):
    case_id = window.start()
    accept = window.accept(case_id)
    refused = window.call("POST", f"/tasks/{accept['id']}/take-back", "chenxiaodong", {})
    assert refused.status_code == 409, refused.json
    assert refused.json["code"] == "binding_step" and refused.json["message"] == "「受理」办理时已出具《受理通知书》，不能撤回"
    assert window.task(case_id, "review")["state"] == "open"


def test_a_decided_case_is_not_sent_back_before_its_decision(window):
    case_id = window.start()
    window.accept(case_id)
    window.complete(case_id, "review", "liuyang", REVIEW)
    window.complete(case_id, "decide", "huangzhiming", GRANT)
    deliver = window.task(case_id, "deliver")
    assert deliver["assignee"] == "chenxiaodong"
    offered = window.ok("GET", f"/tasks/{deliver['id']}/send-back", "chenxiaodong")["items"]
    assert [c["element_id"] for c in offered] == ["accept", "review", "decide"]
    refused = window.call("POST", f"/tasks/{deliver['id']}/send-back", "chenxiaodong",
                          {"to": "decide", "reason": "决定书有误"})
    assert refused.status_code == 409 and refused.json["code"] == "decided"
    assert "决定之前" in refused.json["message"]
    assert window.task(case_id, "deliver")["id"] == deliver["id"]


def test_a_step_reopened_for_a_clerk_who_is_away_waits_for_their_return(window, hall):  # noqa: F811
    from app.people.models import TaskReturn

    case_id = window.start()
    window.accept(case_id)
    review = window.task(case_id, "review")
    window.ok("POST", f"/tasks/{review['id']}/claim", "liuyang")
    today = "2026-11-25"
    window.ok("POST", "/absences", "zhaolixin", status=201,
              json={"username": "chenxiaodong", "start": today, "end": today, "reason": "培训"})
    reopened = window.ok("POST", f"/tasks/{review['id']}/send-back", "liuyang",
                         {"to": "accept", "reason": REASON})["reopened"]
    assert reopened["assignee"] is None and reopened["post"] == "发改局受理A岗"  # wuqian holds it too: not diverted
    with hall.app_context():
        assert db.session.get(TaskReturn, reopened["id"]).username == "chenxiaodong"
