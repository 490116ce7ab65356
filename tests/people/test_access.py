"""Access by department and post (people.access): what each role lists and reads, masking, and who manages what.

The `people` hall: 发改局 (fgj) holds the test posts, `clerk`, `clerk2`, `approver` and supervisor `boss`;
卫生局 (wsj) has clerk `other` (其他受理岗) and supervisor `otherboss`; `center` is 中心督查.
"""

from __future__ import annotations

import io

import pytest

from app.extensions import db
from app.instances.models import ProcessInstance
from app.people import access
from app.people import service as people_service
from app.people.auth import issue_token
from tests.conftest import FIXTURES, deploy

ID_NUMBER, PHONE = "320211199001011234", "13812345678"
API = "/api/v1"


@pytest.fixture()
def hall(client, people):
    deploy(client, people, "two_step.bpmn", "reply.bpmn")
    # a 卫生局 diagram: the same steps at 其他受理岗
    xml = (FIXTURES / "two_step.bpmn").read_text(encoding="utf-8")
    xml = xml.replace('id="two_step"', 'id="ws_two_step"').replace('processRef="two_step"',
                                                                    'processRef="ws_two_step"')
    xml = xml.replace("测试受理岗", "其他受理岗")
    response = client.post(f"{API}/process-definitions", data={"file": [(io.BytesIO(xml.encode()), "ws.bpmn")]},
                           headers=people.auth("analyst"), content_type="multipart/form-data")
    assert response.status_code == 201, response.json
    return people


def call(client, people, method, path, user, **kwargs):
    return client.open(f"{API}{path}", method=method, headers=people.auth(user), **kwargs)


def start(client, people, key="two_step", user="clerk", **data):
    response = call(client, people, "POST", f"/process-definitions/{key}/instances", user,
                    json={"data": {"applicant": "张三", "id_number": ID_NUMBER, "contact": {"phone": PHONE}, **data}})
    assert response.status_code == 201, response.json
    return response.json


def ids(response) -> set[str]:
    assert response.status_code == 200, response.json
    return {item["id"] for item in response.json["items"]}


def test_a_case_belongs_to_the_department_of_its_posts(app, client, hall):
    fgj, wsj = start(client, hall), start(client, hall, "ws_two_step", user="other")
    with app.app_context():
        assert db.session.get(ProcessInstance, fgj["id"]).department_code == "fgj"
        assert db.session.get(ProcessInstance, wsj["id"]).department_code == "wsj"


def test_each_role_lists_the_cases_it_may_see(client, hall):
    fgj, wsj = start(client, hall), start(client, hall, "ws_two_step", user="other")
    both = {fgj["id"], wsj["id"]}
    assert ids(call(client, hall, "GET", "/instances", "clerk")) == {fgj["id"]}
    assert ids(call(client, hall, "GET", "/instances", "approver")) == {fgj["id"]}  # same department
    assert ids(call(client, hall, "GET", "/instances", "boss")) == {fgj["id"]}
    assert ids(call(client, hall, "GET", "/instances", "other")) == {wsj["id"]}
    assert ids(call(client, hall, "GET", "/instances", "otherboss")) == {wsj["id"]}
    for user in ("center", "ops", "admin"):
        assert ids(call(client, hall, "GET", "/instances", user)) == both
    assert ids(call(client, hall, "GET", "/instances", "analyst")) == set()
    # the total counts what the caller may see, not what exists
    assert call(client, hall, "GET", "/instances", "other").json["total"] == 1


def test_another_departments_case_and_its_trail_are_404(client, hall):
    fgj = start(client, hall)
    for suffix in ("", "/audit", "/clock"):
        response = call(client, hall, "GET", f"/instances/{fgj['id']}{suffix}", "other")
        assert response.status_code == 404, suffix
        missing = call(client, hall, "GET", f"/instances/{'0' * 32}{suffix}", "other")
        assert response.json["message"].replace(fgj["id"], "X") == missing.json["message"].replace("0" * 32, "X")
        assert call(client, hall, "GET", f"/instances/{fgj['id']}{suffix}", "clerk").status_code == 200
    task_id = fgj["tasks"][0]["id"]
    for method, suffix in (("GET", ""), ("POST", "/claim"), ("POST", "/complete")):
        assert call(client, hall, method, f"/tasks/{task_id}{suffix}", "other", json={}).status_code == 404


def test_clerks_list_the_tasks_of_their_posts(client, hall):
    fgj, wsj = start(client, hall), start(client, hall, "ws_two_step", user="other")
    fgj_task, wsj_task = fgj["tasks"][0]["id"], wsj["tasks"][0]["id"]
    assert ids(call(client, hall, "GET", "/tasks", "clerk")) == {fgj_task}
    assert ids(call(client, hall, "GET", "/tasks", "other")) == {wsj_task}
    assert ids(call(client, hall, "GET", "/tasks", "approver")) == set()  # not at 测试审批岗 yet
    assert ids(call(client, hall, "GET", "/tasks", "boss")) == {fgj_task}  # the department's posts
    assert ids(call(client, hall, "GET", "/tasks", "center")) == {fgj_task, wsj_task}
    # asking for another post does not widen the list
    assert ids(call(client, hall, "GET", "/tasks", "other", query_string={"post": "测试受理岗"})) == set()
    # the approver reads the acceptance task of a case of their department, though it is not in their list
    assert call(client, hall, "GET", f"/tasks/{fgj_task}", "approver").status_code == 200


def test_a_backup_clerk_sees_what_is_routed_to_them_and_the_cases_they_took_part_in(app, client, hall, clock):
    with app.app_context():
        backup = people_service.upsert_user("bclerk", "备岗丙", ["clerk"], ["测试受理B岗"])
        hall.tokens["bclerk"] = issue_token(backup)
        db.session.commit()
    case = start(client, hall)
    assert ids(call(client, hall, "GET", "/tasks", "bclerk")) == set()
    assert ids(call(client, hall, "GET", "/instances", "bclerk")) == set()  # a B post brings no department
    for username in ("clerk", "clerk2"):  # everyone at 测试受理岗 away: the task goes to the backup post
        assert call(client, hall, "POST", "/absences", "boss", json={
            "username": username, "start": "2026-11-25", "end": "2026-11-27", "reason": "培训"}).status_code == 201
    task_id = case["tasks"][0]["id"]
    assert ids(call(client, hall, "GET", "/tasks", "bclerk")) == {task_id}
    assert ids(call(client, hall, "GET", "/instances", "bclerk")) == {case["id"]}
    assert call(client, hall, "POST", f"/tasks/{task_id}/complete", "bclerk",
                json={"data": {"applicant": "张三", "materials_complete": True}}).status_code == 200
    # done and moved on to 测试审批岗: bclerk still sees the case they took part in
    assert ids(call(client, hall, "GET", "/instances", "bclerk")) == {case["id"]}
    assert call(client, hall, "GET", f"/instances/{case['id']}", "bclerk").json["data"]["id_number"] == ID_NUMBER


def test_applicant_identifiers_are_masked_for_those_who_do_not_handle_the_case(client, hall):
    case = start(client, hall)

    def data(user, path=f"/instances/{case['id']}"):
        return call(client, hall, "GET", path, user).json["data"]

    assert data("clerk")["id_number"] == ID_NUMBER  # started it
    assert data("clerk2")["id_number"] == ID_NUMBER  # its task waits at their post
    assert data("boss")["id_number"] == ID_NUMBER  # the department's supervisor
    assert data("center")["contact"]["phone"] == PHONE
    approver = data("approver")  # same department, not (yet) handling it
    assert approver["id_number"] == "320***********1234" and approver["contact"]["phone"] == "138****5678"
    assert approver["applicant"] == "张三"
    assert data("ops")["id_number"] == "320***********1234"  # sees every case, handles none
    listed = {i["id"]: i for i in call(client, hall, "GET", "/instances", "approver").json["items"]}
    assert "data" not in listed[case["id"]]  # lists are summaries: the data is the detail's, masked there
    trail = call(client, hall, "GET", f"/instances/{case['id']}/audit", "approver").json["items"]
    started = next(e for e in trail if e["action"] == "instance.started")
    assert started["details"]["data"]["id_number"] == "320***********1234"
    trail = call(client, hall, "GET", f"/instances/{case['id']}/audit", "clerk").json["items"]
    assert next(e for e in trail if e["action"] == "instance.started")["details"]["data"]["id_number"] == ID_NUMBER
    # once the approver's step is open, they handle the case
    call(client, hall, "POST", f"/tasks/{case['tasks'][0]['id']}/complete", "clerk",
         json={"data": {"applicant": "张三", "materials_complete": True}})
    assert data("approver")["id_number"] == ID_NUMBER


def test_masking_rules():
    assert access.mask({"id_number": ID_NUMBER, "applicant_phone": PHONE, "phone_count": 3, "tel": "123",
                        "nested": [{"mobile": PHONE}], "id_card": {"number": ID_NUMBER}, "method": "phone"}) == {
        "id_number": "320***********1234", "applicant_phone": "138****5678", "phone_count": 3, "tel": "***",
        "nested": [{"mobile": "138****5678"}], "id_card": {"number": "320***********1234"}, "method": "phone"}


def test_messages_reach_only_cases_the_sender_may_see(client, hall):
    call(client, hall, "POST", "/process-definitions/reply/instances", "clerk",
         json={"business_key": "FG-1", "data": {}})
    body = {"name": "higher_authority_reply", "business_key": "FG-1", "data": {"higher_decision": "approved"}}
    refused = call(client, hall, "POST", "/messages", "other", json=body)
    assert refused.status_code == 404 and refused.json["code"] == "not_found"
    for user in ("otherboss",):
        assert call(client, hall, "POST", "/messages", user, json={**body, "all": True}).status_code == 404
    assert call(client, hall, "POST", "/messages", "clerk", json=body).status_code == 200


def test_cancels_are_for_the_departments_supervisors(client, hall):
    fgj = start(client, hall)
    assert call(client, hall, "POST", f"/instances/{fgj['id']}/cancel", "otherboss", json={}).status_code == 404
    assert call(client, hall, "POST", f"/instances/{fgj['id']}/cancel", "clerk", json={}).status_code == 403
    assert call(client, hall, "POST", f"/instances/{fgj['id']}/cancel", "boss", json={}).status_code == 200
    fgj = start(client, hall)
    assert call(client, hall, "POST", f"/instances/{fgj['id']}/cancel", "center", json={}).status_code == 200


def test_a_supervisor_who_took_part_still_cannot_cancel_another_departments_case(app, client, hall):
    fgj = start(client, hall)
    with app.app_context():
        case = db.session.get(ProcessInstance, fgj["id"])
        case.started_by = "otherboss"  # e.g. started it at the comprehensive window
        db.session.commit()
    assert call(client, hall, "GET", f"/instances/{fgj['id']}", "otherboss").status_code == 200
    response = call(client, hall, "POST", f"/instances/{fgj['id']}/cancel", "otherboss", json={})
    assert response.status_code == 403 and response.json["details"]["department"] == "fgj"


def test_reassign_and_unclaim_are_for_the_departments_supervisors(client, hall):
    task_id = start(client, hall)["tasks"][0]["id"]
    assert call(client, hall, "POST", f"/tasks/{task_id}/claim", "clerk").status_code == 200
    body = {"username": "clerk2", "reason": "调整分工"}
    assert call(client, hall, "POST", f"/tasks/{task_id}/reassign", "otherboss", json=body).status_code == 404
    assert call(client, hall, "POST", f"/tasks/{task_id}/unclaim", "otherboss").status_code == 404
    assert call(client, hall, "POST", f"/tasks/{task_id}/unclaim", "clerk2").status_code == 409  # not theirs
    assert call(client, hall, "POST", f"/tasks/{task_id}/unclaim", "boss").status_code == 200
    assert call(client, hall, "POST", f"/tasks/{task_id}/reassign", "boss", json=body).status_code == 200


def test_a_supervisor_who_sees_the_case_still_cannot_reassign_another_departments_task(app, client, hall):
    fgj = start(client, hall)
    with app.app_context():
        case = db.session.get(ProcessInstance, fgj["id"])
        case.started_by = "otherboss"  # the case is theirs to see (they received it at the comprehensive window)
        db.session.commit()
    response = call(client, hall, "POST", f"/tasks/{fgj['tasks'][0]['id']}/reassign", "otherboss",
                    json={"username": "clerk2", "reason": "调整分工"})
    assert response.status_code == 403 and response.json["details"]["departments"] == ["fgj"]


def test_absences_are_for_the_departments_supervisors(client, hall):
    body = {"username": "clerk", "start": "2026-11-26", "end": "2026-11-27", "reason": "年休假"}
    refused = call(client, hall, "POST", "/absences", "otherboss", json=body)
    assert refused.status_code == 403 and "不属于您督查的部门" in refused.json["message"]
    created = call(client, hall, "POST", "/absences", "boss", json=body)
    assert created.status_code == 201
    absence_id = created.json["id"]
    assert call(client, hall, "GET", "/absences", "otherboss").json["total"] == 0
    assert call(client, hall, "GET", "/absences", "boss").json["total"] == 1
    assert call(client, hall, "GET", "/absences", "center").json["total"] == 1
    assert call(client, hall, "DELETE", f"/absences/{absence_id}", "otherboss").status_code == 403
    assert call(client, hall, "DELETE", f"/absences/{absence_id}", "center").status_code == 200
    # 中心督查 may mark anyone away, 卫生局's clerk too
    assert call(client, hall, "POST", "/absences", "center", json={**body, "username": "other"}).status_code == 201


def test_warnings_by_department(app, client, hall):
    from app.clock import now
    from app.hall.supervision.models import SupervisionWarning

    fgj = start(client, hall)
    with app.app_context():
        warning = SupervisionWarning(instance_id=fgj["id"], kind="case_yellow", level="yellow",
                                     department_code="fgj", post="测试督查岗", message="即将超期", raised_at=now(),
                                     state="open")
        db.session.add(warning)
        db.session.commit()
        warning_id = warning.id
    listed = {user: call(client, hall, "GET", "/supervision/warnings", user).json["total"]
              for user in ("boss", "otherboss", "center", "ops")}
    assert listed == {"boss": 1, "otherboss": 0, "center": 1, "ops": 1}
    close = f"/supervision/warnings/{warning_id}/close"
    assert call(client, hall, "POST", close, "otherboss", json={"note": "x"}).status_code == 404
    assert call(client, hall, "POST", close, "boss", json={"note": "已督办"}).status_code == 200


def test_timers_by_department(client, hall):
    case = start(client, hall)
    call(client, hall, "POST", f"/tasks/{case['tasks'][0]['id']}/complete", "clerk",
         json={"data": {"applicant": "张三", "materials_complete": True}})
    assert call(client, hall, "GET", "/timers", "boss").json["total"] == 1
    assert call(client, hall, "GET", "/timers", "otherboss").json["total"] == 0
    assert call(client, hall, "GET", "/timers", "ops").json["total"] == 1


def test_assignee_me_lists_what_the_caller_holds(client, hall):
    task_id = start(client, hall)["tasks"][0]["id"]
    assert ids(call(client, hall, "GET", "/tasks", "clerk", query_string={"assignee": "me"})) == set()
    call(client, hall, "POST", f"/tasks/{task_id}/claim", "clerk")
    assert ids(call(client, hall, "GET", "/tasks", "clerk", query_string={"assignee": "me"})) == {task_id}
    assert ids(call(client, hall, "GET", "/tasks", "clerk2", query_string={"assignee": "me"})) == set()


@pytest.mark.parametrize("path", ["/tasks?mine=1", "/instances?mine=1", "/instances/x?full=1", "/me?x=1",
                                  "/statistics/summary?from=2026-10-01&bogus=2",
                                  "/process-definitions/two_step?versoin=1", "/posts?department=fgj&kind=review&z=0"])
def test_unknown_query_parameters_are_a_400(client, hall, path):
    response = client.get(f"{API}{path}", headers=hall.auth("admin"))
    assert response.status_code == 400, response.json
    assert response.json["code"] == "bad_request" and "未知的查询参数" in response.json["message"]
    assert response.json["details"]["unknown"]


def test_known_query_parameters_still_work(client, hall):
    assert call(client, hall, "GET", "/process-definitions/two_step", "admin",
                query_string={"version": 1}).status_code == 200
    assert call(client, hall, "GET", "/statistics/summary", "admin",
                query_string={"from": "2026-10-01", "to": "2026-10-31"}).status_code == 200


def test_form_errors_are_chinese_and_name_the_field(client, hall):
    task_id = start(client, hall)["tasks"][0]["id"]
    response = call(client, hall, "POST", f"/tasks/{task_id}/complete", "clerk",
                    json={"data": {"applicant": "", "materials_complete": "ja"}})
    assert response.status_code == 422
    messages = {e["field"]: e["message"] for e in response.json["details"]["errors"]}
    assert all("is not" not in m and "'" not in m for m in messages.values()), messages
    assert any("是/否" in m for m in messages.values()), messages


def test_me_says_whose_cases_one_sees(client, hall):
    assert call(client, hall, "GET", "/me", "clerk").json["departments"] == ["fgj"]
    assert call(client, hall, "GET", "/me", "otherboss").json["departments"] == ["wsj"]
    assert call(client, hall, "GET", "/me", "center").json["departments"] == []
    users = {u["username"]: u for u in call(client, hall, "GET", "/users", "admin").json}
    assert users["approver"]["departments"] == ["fgj"] and users["analyst"]["departments"] == []
