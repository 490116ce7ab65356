"""Incidents and starts are scoped like cases: an incident is shown to whoever may see its case, and no one else;
a clerk receives only the matters of the departments they serve (the comprehensive window: all), through the
API as on the web; a message start shared by several departments' processes starts only the sender's."""

from __future__ import annotations

from tests.guards.diagrams import bpmn, flow, simple, task, upload
from tests.web.conftest import hall  # noqa: F401 - the demo hall, for the web start page


def _spinning_after(key: str, post: str) -> str:
    return bpmn(key, f'<bpmn:startEvent id="start" />{flow("f0", "start", "work")}{task("work", post=post)}'
                     f'{flow("f1", "work", "gw")}<bpmn:exclusiveGateway id="gw" default="again" />'
                     f'{flow("again", "gw", "turn")}{flow("out", "gw", "end", "stop == True")}'
                     f'<bpmn:intermediateThrowEvent id="turn" />{flow("back", "turn", "gw")}<bpmn:endEvent id="end" />')


def _incident(client, people, key: str, post: str, clerk: str) -> str:
    assert upload(client, people, (f"{key}.bpmn", _spinning_after(key, post))).status_code == 201
    case = client.post(f"/api/v1/process-definitions/{key}/instances", json={"data": {"stop": False}},
                       headers=people.auth(clerk)).json
    response = client.post(f"/api/v1/tasks/{case['tasks'][0]['id']}/complete", json={"data": {}},
                           headers=people.auth(clerk))
    assert response.status_code == 422 and response.json["details"]["incident"], response.json
    return response.json["details"]["incident"]


def test_incidents_are_shown_to_whoever_may_see_their_case(app, client, people):
    app.config["ENGINE_MAX_STEPS"] = 300
    ours = _incident(client, people, "fg_spin", "测试受理岗", "clerk")  # 发改局
    theirs = _incident(client, people, "ws_spin", "其他受理岗", "other")  # 卫生局

    def listed(user: str) -> set[str]:
        response = client.get("/api/v1/incidents", headers=people.auth(user))
        assert response.status_code == 200
        return {i["id"] for i in response.json["items"]}

    assert listed("boss") == {ours} and listed("otherboss") == {theirs}
    assert listed("ops") == listed("center") == listed("admin") == {ours, theirs}
    assert client.get(f"/api/v1/incidents/{theirs}", headers=people.auth("boss")).status_code == 404
    assert client.get(f"/api/v1/incidents/{ours}", headers=people.auth("boss")).status_code == 200
    found = client.get("/api/v1/incidents", query_string={"instance": theirs.removeprefix("case-")},
                       headers=people.auth("boss")).json
    assert found["items"] == []  # asked by id: still nothing of another department


def test_a_failed_timer_incident_is_scoped_too(app, in_app, client, people, clock):
    from app.timers import service as timers

    broken = bpmn("ws_broken", f'<bpmn:startEvent id="start" />{flow("f0", "start", "wait")}'
                               f'<bpmn:intermediateCatchEvent id="wait"><bpmn:timerEventDefinition>'
                               f'<bpmn:timeDuration>PT1M</bpmn:timeDuration></bpmn:timerEventDefinition>'
                               f'</bpmn:intermediateCatchEvent>{flow("f1", "wait", "calc")}'
                               f'<bpmn:scriptTask id="calc"><bpmn:script>x = 1 / 0</bpmn:script></bpmn:scriptTask>'
                               f'{flow("f2", "calc", "work")}{task("work", post="其他受理岗")}{flow("f3", "work", "end")}'
                               f'<bpmn:endEvent id="end" />')
    assert upload(client, people, ("ws_broken.bpmn", broken)).status_code == 201
    assert client.post("/api/v1/process-definitions/ws_broken/instances", json={},
                       headers=people.auth("other")).status_code == 201
    for _ in range(3):
        clock.advance(minutes=2)
        in_app(timers.fire_due)
    [incident] = client.get("/api/v1/incidents", headers=people.auth("otherboss")).json["items"]
    assert incident["kind"] == "timer"
    assert client.get("/api/v1/incidents", headers=people.auth("boss")).json["items"] == []
    assert client.get(f"/api/v1/incidents/{incident['id']}", headers=people.auth("boss")).status_code == 404
    assert client.get("/api/v1/timers", query_string={"state": "failed"}, headers=people.auth("boss")).json["total"] == 0


def test_a_clerk_starts_only_the_matters_of_departments_they_serve(client, people):
    assert upload(client, people, ("fg.bpmn", simple("fg_matter")), ("ws.bpmn", _ws("ws_matter"))).status_code == 201
    start = lambda key, user: client.post(f"/api/v1/process-definitions/{key}/instances", json={},  # noqa: E731
                                          headers=people.auth(user))
    refused = start("ws_matter", "clerk")
    assert refused.status_code == 403 and "其他部门" in refused.json["message"], refused.json
    assert refused.json["details"]["department"] == "wsj"
    assert start("fg_matter", "other").status_code == 403 and start("ws_matter", "otherboss").status_code == 201
    assert start("fg_matter", "boss").status_code == 201 and start("ws_matter", "boss").status_code == 403
    for everyone in ("center", "ops", "admin"):
        assert start("ws_matter", everyone).status_code == 201 and start("fg_matter", everyone).status_code == 201
    # the comprehensive window (a window post of no department) receives every department's matters
    admin = people.auth("admin")
    assert client.post("/api/v1/posts", json={"name": "综合受理A岗", "kind": "window_a"}, headers=admin).status_code == 201
    assert client.post("/api/v1/users", json={"username": "zonghe", "name": "综合", "roles": ["clerk"],
                                              "posts": ["综合受理A岗"]}, headers=admin).status_code == 201
    token = client.post("/api/v1/users/zonghe/tokens", json={}, headers=admin).json["token"]
    for key in ("fg_matter", "ws_matter"):
        assert client.post(f"/api/v1/process-definitions/{key}/instances", json={},
                           headers={"Authorization": f"Bearer {token}"}).status_code == 201


def _ws(key: str, start: str = '<bpmn:startEvent id="start" />') -> str:
    return bpmn(key, f'{start}{flow("f0", "start", "work")}{task("work", post="其他受理岗")}'
                     f'{flow("f1", "work", "end")}<bpmn:endEvent id="end" />')


def test_a_message_start_shared_by_two_departments_starts_only_the_senders(client, people):
    message = '<bpmn:startEvent id="start"><bpmn:messageEventDefinition messageRef="m_apply" /></bpmn:startEvent>'
    fg = bpmn("fg_apply", f'{message}{flow("f0", "start", "work")}{task("work")}{flow("f1", "work", "end")}'
                          f'<bpmn:endEvent id="end" />')
    ws = _ws("ws_apply", message)
    declare = '<bpmn:message id="m_apply" name="网上申报" />'
    files = [(name, text.replace('<bpmn:process', f'{declare}<bpmn:process', 1)) for name, text in
             (("fg_apply.bpmn", fg), ("ws_apply.bpmn", ws))]
    assert upload(client, people, *files).status_code == 201

    def started(user: str) -> set[str]:
        response = client.post("/api/v1/messages", json={"name": "网上申报", "data": {"by": user}},
                               headers=people.auth(user))
        if response.status_code == 404:
            return set()
        assert response.status_code == 200, response.json
        return {client.get(f"/api/v1/instances/{i}", headers=people.auth("admin")).json["process_key"]
                for i in response.json["started"]}

    assert started("clerk") == {"fg_apply"}
    assert started("other") == {"ws_apply"}
    assert started("ops") == {"fg_apply", "ws_apply"}
    assert started("center") == {"fg_apply", "ws_apply"}


def test_the_web_start_page_offers_and_receives_only_the_clerks_matters(hall):  # noqa: F811
    from tests.web.conftest import KEY
    from tests.web.test_access import _csrf, signed_in

    code = "32021300FG-BA-0001"
    assert KEY == "matter_32021300FG_BA_0001"
    for username, allowed in (("chenxiaodong", True), ("zhoumin", True), ("wangfang", False)):
        browser = signed_in(hall, username)
        page = browser.get("/work/start").get_data(as_text=True)
        assert (code in page) is allowed, username
        form = browser.get(f"/work/start?matter={code}")
        answer = browser.post(f"/work/start?matter={code}", data={
            "csrf_token": _csrf(form.get_data(as_text=True)), "matter": code, "applicant.kind": "organisation",
            "applicant.name": "某某科技有限公司", "applicant.id_type": "uscc",
            "applicant.id_number": "91320211MA1P8K2T0A", "applicant.phone": "0510-85231234"})
        assert (answer.status_code == 302) is allowed, (username, answer.status_code)
        if not allowed:
            assert answer.status_code == 403 and "其他部门" in answer.get_data(as_text=True)
