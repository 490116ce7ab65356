"""User tasks: lists by post and assignee, claim/unclaim, completion with form validation, 409s."""

from __future__ import annotations

from tests.conftest import deploy


def _start(client, people, data=None, business_key=None):
    deploy(client, people, "two_step.bpmn")
    response = client.post("/api/v1/process-definitions/two_step/instances",
                           json={"data": data or {}, "business_key": business_key}, headers=people.auth("clerk"))
    assert response.status_code == 201, response.json
    return response.json


def _tasks(client, people, as_user="clerk", **query):
    response = client.get("/api/v1/tasks", query_string=query, headers=people.auth(as_user))
    assert response.status_code == 200, response.json
    return response.json


def test_task_is_listed_by_post_with_fields(client, people):
    case = _start(client, people, business_key="BK-1")
    listing = _tasks(client, people, post="测试受理岗")
    assert listing["total"] == 1
    task = listing["items"][0]
    assert {k: task[k] for k in ("name", "element_id", "post", "assignee", "state", "instance_id")} == {
        "name": "受理", "element_id": "accept", "post": "测试受理岗", "assignee": None, "state": "open",
        "instance_id": case["id"]}
    assert _tasks(client, people, post="测试审批岗")["total"] == 0
    assert _tasks(client, people, instance=case["id"])["total"] == 1


def test_claim_then_someone_else_gets_409_and_unclaim_frees_it(client, people):
    _start(client, people)
    task_id = _tasks(client, people, post="测试受理岗")["items"][0]["id"]
    claimed = client.post(f"/api/v1/tasks/{task_id}/claim", headers=people.auth("clerk"))
    assert claimed.status_code == 200 and claimed.json["assignee"] == "clerk"
    assert _tasks(client, people, assignee="clerk")["total"] == 1

    other = client.post(f"/api/v1/tasks/{task_id}/claim", headers=people.auth("clerk2"))
    assert other.status_code == 409 and other.json["details"]["assignee"] == "clerk"
    completing = client.post(f"/api/v1/tasks/{task_id}/complete",
                             json={"data": {"applicant": "张三", "materials_complete": True}},
                             headers=people.auth("clerk2"))
    assert completing.status_code == 409

    assert client.post(f"/api/v1/tasks/{task_id}/unclaim", headers=people.auth("clerk")).json["assignee"] is None
    assert client.post(f"/api/v1/tasks/{task_id}/claim", headers=people.auth("clerk2")).status_code == 200


def test_claim_needs_the_post(client, people):
    _start(client, people)
    task_id = _tasks(client, people, post="测试受理岗")["items"][0]["id"]
    response = client.post(f"/api/v1/tasks/{task_id}/claim", headers=people.auth("approver"))
    assert response.status_code == 403
    assert response.json["details"]["post"] == "测试受理岗"


def test_invalid_form_data_is_422_with_field_errors_and_changes_nothing(client, people):
    case = _start(client, people)
    task_id = _tasks(client, people, post="测试受理岗")["items"][0]["id"]
    response = client.post(f"/api/v1/tasks/{task_id}/complete", json={"data": {"applicant": "", "extra": 1}},
                           headers=people.auth("clerk"))
    assert response.status_code == 422
    errors = response.json["details"]["errors"]
    messages = " ".join(e["message"] for e in errors)
    assert "材料齐全" in messages  # the missing field, named by its Chinese title
    assert any(e["field"] == "applicant" for e in errors)
    after = client.get(f"/api/v1/instances/{case['id']}", headers=people.auth("clerk")).json
    assert [t["element_id"] for t in after["tasks"]] == ["accept"]
    assert after["version"] == case["version"]


def test_complete_moves_the_case_and_completing_again_is_409(client, people):
    case = _start(client, people, data={"matter": "测试事项"})
    task_id = _tasks(client, people, post="测试受理岗")["items"][0]["id"]
    done = client.post(f"/api/v1/tasks/{task_id}/complete",
                       json={"data": {"applicant": "张三", "materials_complete": True}}, headers=people.auth("clerk"))
    assert done.status_code == 200, done.json
    assert done.json["state"] == "completed" and done.json["completed_by"] == "clerk"
    again = client.post(f"/api/v1/tasks/{task_id}/complete",
                        json={"data": {"applicant": "张三", "materials_complete": True}}, headers=people.auth("clerk"))
    assert again.status_code == 409 and again.json["code"] == "conflict"

    detail = client.get(f"/api/v1/instances/{case['id']}", headers=people.auth("clerk")).json
    assert detail["data"]["applicant"] == "张三" and detail["data"]["matter"] == "测试事项"
    assert [t["element_id"] for t in detail["tasks"]] == ["approve"]
    assert detail["tasks"][0]["due_at"] is not None  # the escalation timer's deadline
    assert [t["element_id"] for t in detail["timers"]] == ["approve_overdue"]


def test_refusal_without_reasons_is_rejected_by_the_form(client, people):
    _start(client, people)
    first = _tasks(client, people, post="测试受理岗")["items"][0]["id"]
    client.post(f"/api/v1/tasks/{first}/complete", json={"data": {"applicant": "李四", "materials_complete": True}},
                headers=people.auth("clerk"))
    approve = client.get("/api/v1/tasks", query_string={"post": "测试审批岗"}, headers=people.auth("approver")).json
    task_id = approve["items"][0]["id"]
    refused = client.post(f"/api/v1/tasks/{task_id}/complete", json={"data": {"decision": "refuse"}},
                          headers=people.auth("approver"))
    assert refused.status_code == 422
    assert refused.json["details"]["errors"][0]["field"] in ("reasons", "")


def test_admin_may_complete_any_task_and_it_is_audited(client, people):
    case = _start(client, people)
    task_id = _tasks(client, people, post="测试受理岗")["items"][0]["id"]
    done = client.post(f"/api/v1/tasks/{task_id}/complete",
                       json={"data": {"applicant": "王五", "materials_complete": True}}, headers=people.auth("admin"))
    assert done.status_code == 200
    trail = client.get(f"/api/v1/instances/{case['id']}/audit", headers=people.auth("clerk")).json["items"]
    completed = [e for e in trail if e["action"] == "task.completed"]
    assert completed[0]["actor"] == "admin" and completed[0]["details"]["as_admin"] is True
    assert completed[0]["details"]["changes"]["set"]["applicant"] == "王五"


def test_unknown_task_is_404_and_bad_query_is_422(client, people):
    assert client.post("/api/v1/tasks/nope/claim", headers=people.auth("clerk")).status_code == 404
    bad = client.get("/api/v1/tasks", query_string={"state": "weird"}, headers=people.auth("clerk"))
    assert bad.status_code == 422 and bad.json["code"] == "invalid" and "state" in str(bad.json["details"])
    bad_date = client.get("/api/v1/tasks", query_string={"due_before": "tomorrow"}, headers=people.auth("clerk"))
    assert bad_date.status_code == 422


def test_due_filters(client, people, clock):
    _start(client, people)
    first = _tasks(client, people, post="测试受理岗")["items"][0]["id"]
    client.post(f"/api/v1/tasks/{first}/complete", json={"data": {"applicant": "甲", "materials_complete": True}},
                headers=people.auth("clerk"))
    # The approval is due one hour after it was created (its boundary timer): 10:00 Shanghai time.
    # (the approval is at 测试审批岗: the approver's list, not the window clerk's)
    assert _tasks(client, people, due_before="2026-11-25T10:30:00+08:00")["total"] == 0
    assert _tasks(client, people, "approver", due_before="2026-11-25T10:30:00+08:00")["total"] == 1
    assert _tasks(client, people, "approver", due_before="2026-11-25T09:30:00")["total"] == 0
