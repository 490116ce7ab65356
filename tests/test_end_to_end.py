"""A whole case through real HTTP: deploy, start, list by post, claim, complete with a form, a timer escalation,
a message, and the 4xx/409 answers a clerk or an integration can meet."""

from __future__ import annotations

import requests

from tests.conftest import FIXTURES


def test_whole_case_over_http(live_server, people, clock):
    api = f"{live_server}/api/v1"
    http = requests.Session()

    def call(method, path, user, headers=None, **kwargs):
        return http.request(method, f"{api}{path}", headers={**people.auth(user), **(headers or {})}, timeout=10,
                            **kwargs)

    assert http.get(f"{live_server}/healthz", timeout=5).json()["status"] == "ok"
    spec = http.get(f"{live_server}/api/openapi.json", timeout=5).json()
    assert "/api/v1/tasks/{task_id}/complete" in spec["paths"]

    # Deploy the approval and the reported-case diagrams together.
    with open(FIXTURES / "two_step.bpmn", "rb") as a, open(FIXTURES / "reply.bpmn", "rb") as b:
        deployed = call("POST", "/process-definitions", "analyst",
                        files=[("file", ("two_step.bpmn", a)), ("file", ("reply.bpmn", b))])
    assert deployed.status_code == 201
    assert sorted(d["key"] for d in deployed.json()["items"]) == ["reply", "two_step"]

    # Start a case and find its first task in the window post's list.
    case = call("POST", "/process-definitions/two_step/instances", "clerk",
                json={"data": {"matter": "公共场所卫生许可证核发"}, "business_key": "WS-20261125-0001"})
    assert case.status_code == 201
    case_id = case.json()["id"]
    window = call("GET", "/tasks", "clerk", params={"post": "测试受理岗"}).json()
    assert window["total"] == 1 and window["items"][0]["instance_id"] == case_id
    accept_id = window["items"][0]["id"]

    # Claim; a colleague's claim is refused; invalid form data is refused with field errors.
    assert call("POST", f"/tasks/{accept_id}/claim", "clerk").json()["assignee"] == "clerk"
    assert call("POST", f"/tasks/{accept_id}/claim", "clerk2").status_code == 409
    invalid = call("POST", f"/tasks/{accept_id}/complete", "clerk", json={"data": {"applicant": "张三"}})
    assert invalid.status_code == 422 and invalid.json()["details"]["errors"]
    done = call("POST", f"/tasks/{accept_id}/complete", "clerk",
                json={"data": {"applicant": "张三", "materials_complete": True}})
    assert done.status_code == 200 and done.json()["state"] == "completed"
    assert call("POST", f"/tasks/{accept_id}/complete", "clerk",
                json={"data": {"applicant": "张三", "materials_complete": True}}).status_code == 409

    # The approval waits an hour; then the timer escalates to the supervisor's post.
    approval = call("GET", "/tasks", "approver", params={"post": "测试审批岗"}).json()["items"][0]
    clock.advance(hours=1, seconds=1)
    assert call("POST", "/timers/fire-due", "ops").json()["advanced"] == 1
    escalation = call("GET", "/tasks", "boss", params={"post": "测试督查岗"}).json()
    assert escalation["total"] == 1 and escalation["items"][0]["name"] == "超期督办"

    granted = call("POST", f"/tasks/{approval['id']}/complete", "approver", json={"data": {"decision": "grant"}})
    assert granted.status_code == 200
    detail = call("GET", f"/instances/{case_id}", "clerk").json()
    assert detail["data"]["decision"] == "grant"
    assert [t["element_id"] for t in detail["tasks"]] == ["escalate"]

    # A reported case waits for the higher authority's reply, delivered as a BPMN message.
    reported = call("POST", "/process-definitions/reply/instances", "clerk",
                    json={"business_key": "SB-0001"}).json()
    assert reported["messages"][0]["name"] == "higher_authority_reply"
    reply = call("POST", "/messages", "ops", json={"name": "higher_authority_reply", "business_key": "SB-0001",
                                                   "data": {"higher_decision": "approved"}})
    assert reply.json()["delivered_to"] == [reported["id"]]
    inform = call("GET", "/tasks", "clerk", params={"instance": reported["id"]}).json()["items"][0]
    assert call("POST", f"/tasks/{inform['id']}/complete", "clerk", json={"data": {}}).status_code == 200
    assert call("GET", f"/instances/{reported['id']}", "clerk").json()["state"] == "completed"

    # What bad input gets: JSON errors with code, message and details.
    no_token = http.get(f"{api}/tasks", timeout=5)
    assert no_token.status_code == 401 and set(no_token.json()) == {"code", "message", "details"}
    assert call("POST", "/process-definitions", "clerk", files={"file": ("x.bpmn", b"<x/>")}).status_code == 403
    assert call("GET", "/instances/unknown", "clerk").status_code == 404
    assert call("POST", "/process-definitions/two_step/instances", "clerk", data="not json",
                headers={"Content-Type": "application/json"}).status_code in (400, 422)
    assert http.get(f"{api}/no-such-thing", timeout=5).json()["code"] == "not_found"


def test_api_docs_work_without_a_network(client):
    page = client.get("/api/docs")
    assert page.status_code == 200 and b"/api/docs-assets/swagger-ui-bundle.js" in page.data
    bundle = client.get("/api/docs-assets/swagger-ui-bundle.js")
    assert bundle.status_code == 200 and len(bundle.data) > 100_000
    spec = client.get("/api/openapi.json").json
    assert spec["info"]["title"].startswith("Tongban")


def test_numbers_out_of_range_are_422_not_500(client, people):
    from tests.conftest import deploy

    deploy(client, people, "two_step.bpmn")
    auth = people.auth("admin")
    assert client.get("/api/v1/instances", query_string={"offset": 10**30}, headers=auth).status_code == 422
    assert client.get("/api/v1/process-definitions/two_step", query_string={"version": 10**20},
                      headers=auth).status_code == 422
    bad_window = client.post("/api/v1/users", json={"username": "x1", "name": "某", "window": 2.5e-42}, headers=auth)
    assert bad_window.status_code == 422
    unknown_window = client.post("/api/v1/users", json={"username": "x1", "name": "某", "window": 99}, headers=auth)
    assert unknown_window.status_code == 422 and unknown_window.json["details"] == {"window": 99}


def test_an_admin_cannot_demote_themselves(client, people):
    response = client.post("/api/v1/users", json={"username": "admin", "name": "管理员", "roles": []},
                           headers=people.auth("admin"))
    assert response.status_code == 409
    assert client.get("/api/v1/me", headers=people.auth("admin")).json["roles"] == ["admin"]
