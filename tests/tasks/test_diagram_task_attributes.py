"""A user task's camunda:priority, camunda:assignee and camunda:dueDate apply as the analyst drew them: each a
literal or an expression over the data the task opens with (a multi-instance's item included). camunda:priority
ranks it in its post's list (none: Camunda's normal 50); camunda:assignee gives it to that clerk, who may work it
wherever their posts are (none, or a clerk away today: it waits at its post); camunda:dueDate is when it is due (a
date alone: the end of that day, China time). A value of the wrong kind is refused when the diagram is deployed, or
stops the step with a clear error when an expression gives one."""

from __future__ import annotations

import io
from datetime import timedelta, timezone

import pytest

POST = "测试受理岗"
_CHINA = timezone(timedelta(hours=8))
NS = ('xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
      'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" targetNamespace="http://tongban.test"')


def _diagram(key: str, tasks: dict[str, str | None], *, many: str | None = None, attribute: str = "priority") -> bytes:
    """A parallel split into one user task per entry (its camunda:<attribute>, or none), joined again."""
    body, flows = [], []
    for n, (name, priority) in enumerate(tasks.items()):
        rank = f' camunda:{attribute}="{priority}"' if priority is not None else ""
        loop = (f'<bpmn:multiInstanceLoopCharacteristics camunda:collection="{many}" '
                f'camunda:elementVariable="item"/>' if many and n == 0 else "")
        body.append(f'<bpmn:userTask id="t{n}" name="{name}" camunda:candidateGroups="{POST}"{rank}>{loop}'
                    f'</bpmn:userTask>')
        flows.append(f'<bpmn:sequenceFlow id="a{n}" sourceRef="split" targetRef="t{n}"/>'
                     f'<bpmn:sequenceFlow id="b{n}" sourceRef="t{n}" targetRef="join"/>')
    return (f'<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions {NS}>'
            f'<bpmn:process id="{key}" name="优先级" isExecutable="true">'
            f'<bpmn:startEvent id="start"/><bpmn:sequenceFlow id="s" sourceRef="start" targetRef="split"/>'
            f'<bpmn:parallelGateway id="split"/>{"".join(body)}{"".join(flows)}<bpmn:parallelGateway id="join"/>'
            f'<bpmn:sequenceFlow id="e" sourceRef="join" targetRef="end"/><bpmn:endEvent id="end"/>'
            f'</bpmn:process></bpmn:definitions>').encode()


def _deploy(client, people, key: str, xml: bytes):
    return client.post("/api/v1/process-definitions", data={"file": [(io.BytesIO(xml), f"{key}.bpmn")]},
                       headers=people.auth("analyst"), content_type="multipart/form-data")


def _listed(client, people, case_id: str) -> list[tuple[str, int]]:
    items = client.get("/api/v1/tasks", query_string={"post": POST, "limit": 50}, headers=people.auth("clerk")).json
    return [(t["name"], t["priority"]) for t in items["items"] if t["instance_id"] == case_id]


def test_a_post_lists_tasks_in_the_rank_their_diagram_gives(client, people):
    xml = _diagram("ranked", {"常规": None, "加急": "80", "按申请": "${urgency}", "按级别": "#{level * 10}",
                              "靠后": "-5"})
    assert _deploy(client, people, "ranked", xml).status_code == 201
    case = client.post("/api/v1/process-definitions/ranked/instances", json={"data": {"urgency": 90, "level": 3}},
                       headers=people.auth("clerk"))
    assert case.status_code == 201, case.json
    assert sorted(t["priority"] for t in case.json["tasks"]) == [-5, 30, 50, 80, 90]
    assert _listed(client, people, case.json["id"]) == [("按申请", 90), ("加急", 80), ("常规", 50), ("按级别", 30),
                                                        ("靠后", -5)]
    detail = client.get(f"/api/v1/tasks/{case.json['tasks'][0]['id']}", headers=people.auth("clerk")).json
    assert detail["priority"] in (-5, 30, 50, 80, 90)


def test_each_instance_of_a_multi_instance_task_is_ranked_with_its_own_item(client, people):
    xml = _diagram("ranked_many", {"逐项": "${item}", "常规": None}, many="ranks")
    assert _deploy(client, people, "ranked_many", xml).status_code == 201
    case = client.post("/api/v1/process-definitions/ranked_many/instances", json={"data": {"ranks": [20, 70, 60]}},
                       headers=people.auth("clerk"))
    assert case.status_code == 201, case.json
    assert _listed(client, people, case.json["id"]) == [("逐项", 70), ("逐项", 60), ("常规", 50), ("逐项", 20)]


@pytest.mark.parametrize("priority", ["high", "1.5", "${", "99999999999"])
def test_a_priority_that_is_no_integer_is_refused_at_deployment(client, people, priority):
    answer = _deploy(client, people, "bad_rank", _diagram("bad_rank", {"甲": priority}))
    assert answer.status_code in (400, 422), answer.json
    assert "camunda:priority" in str(answer.json)
    assert client.get("/api/v1/process-definitions/bad_rank", headers=people.auth("analyst")).status_code == 404


def test_an_expression_that_gives_no_integer_stops_the_case_with_a_clear_error(client, people):
    assert _deploy(client, people, "odd_rank", _diagram("odd_rank", {"甲": "${label}"})).status_code == 201
    for label in ("紧急", True, 1.5):
        answer = client.post("/api/v1/process-definitions/odd_rank/instances", json={"data": {"label": label}},
                             headers=people.auth("clerk"))
        assert answer.status_code < 500, answer.json
        assert "camunda:priority" in str(answer.json)


def _tasks(answer) -> dict[str, dict]:
    return {t["name"]: t for t in answer.json["tasks"]}


def test_a_task_the_diagram_gives_to_a_clerk_is_theirs_wherever_their_posts_are(client, people):
    xml = _diagram("assigned", {"指定": "approver", "按数据": "${reviewer}", "无人": "${nobody}", "岗位": None},
                   attribute="assignee")
    assert _deploy(client, people, "assigned", xml).status_code == 201
    case = client.post("/api/v1/process-definitions/assigned/instances",
                       json={"data": {"reviewer": "clerk2", "nobody": None}}, headers=people.auth("clerk"))
    assert case.status_code == 201, case.json
    tasks = _tasks(case)
    assert {name: t["assignee"] for name, t in tasks.items()} == {"指定": "approver", "按数据": "clerk2", "无人": None,
                                                                  "岗位": None}
    given = tasks["指定"]["id"]  # at 测试受理岗, which approver does not hold
    mine = client.get("/api/v1/tasks", query_string={"assignee": "me"}, headers=people.auth("approver")).json
    assert given in [t["id"] for t in mine["items"]]
    refused = client.post(f"/api/v1/tasks/{given}/complete", json={"data": {}}, headers=people.auth("clerk"))
    assert refused.status_code == 409 and client.get(f"/api/v1/tasks/{given}", headers=people.auth(
        "clerk")).json["state"] == "open"
    done = client.post(f"/api/v1/tasks/{given}/complete", json={"data": {}}, headers=people.auth("approver"))
    assert done.status_code == 200, done.json
    assert client.get(f"/api/v1/tasks/{given}", headers=people.auth("approver")).json["completed_by"] == "approver"
    other = tasks["无人"]["id"]  # nobody's: anyone at the post claims it; approver is not there
    assert client.post(f"/api/v1/tasks/{other}/claim", headers=people.auth("approver")).status_code == 403
    assert client.post(f"/api/v1/tasks/{other}/claim", headers=people.auth("clerk")).status_code == 200


def test_a_task_given_to_a_clerk_who_is_away_waits_at_its_post(client, people, clock):
    from tests.people.conftest import absent

    today = clock().astimezone(_CHINA).date().isoformat()
    assert absent(client, people, "clerk2", today, today).status_code == 201
    assert _deploy(client, people, "assigned_away", _diagram("assigned_away", {"甲": "clerk2"}, attribute="assignee"))\
        .status_code == 201
    case = client.post("/api/v1/process-definitions/assigned_away/instances", json={"data": {}},
                       headers=people.auth("clerk"))
    task = _tasks(case)["甲"]
    assert (task["assignee"], task["post"]) == (None, POST)


@pytest.mark.parametrize(("given", "data", "due"), [
    ("2026-12-31", {}, "2026-12-31T23:59:59+08:00"),
    ("2026-12-20T17:00:00", {}, "2026-12-20T17:00:00+08:00"),
    ("2026-12-20T09:00:00Z", {}, "2026-12-20T17:00:00+08:00"),
    ("${deadline}", {"deadline": "2026-12-18T10:30:00+08:00"}, "2026-12-18T10:30:00+08:00"),
    ("${deadline}", {"deadline": None}, None),
])
def test_a_task_is_due_when_its_diagram_says(client, people, given, data, due):
    assert _deploy(client, people, "dated", _diagram("dated", {"甲": given}, attribute="dueDate")).status_code == 201
    case = client.post("/api/v1/process-definitions/dated/instances", json={"data": data},
                       headers=people.auth("clerk"))
    assert case.status_code == 201, case.json
    assert _tasks(case)["甲"]["due_at"] == due


@pytest.mark.parametrize(("attribute", "given"), [("dueDate", "next week"), ("dueDate", "2026-13-01"),
                                                  ("assignee", "${"), ("assignee", "x" * 65)])
def test_an_assignee_or_due_date_of_the_wrong_kind_is_refused_at_deployment(client, people, attribute, given):
    answer = _deploy(client, people, "bad_attr", _diagram("bad_attr", {"甲": given}, attribute=attribute))
    assert answer.status_code in (400, 422), answer.json
    assert f"camunda:{attribute}" in str(answer.json)


@pytest.mark.parametrize(("attribute", "value"), [("dueDate", "明天"), ("dueDate", 5), ("assignee", 7),
                                                  ("assignee", ["clerk"])])
def test_an_expression_that_gives_the_wrong_kind_stops_the_step(client, people, attribute, value):
    assert _deploy(client, people, "odd_attr", _diagram("odd_attr", {"甲": "${given}"}, attribute=attribute))\
        .status_code == 201
    answer = client.post("/api/v1/process-definitions/odd_attr/instances", json={"data": {"given": value}},
                         headers=people.auth("clerk"))
    assert answer.status_code == 422 and f"camunda:{attribute}" in answer.json["message"], answer.json


def test_the_initiator_variable_names_who_started_the_case_and_can_be_the_assignee(client, people):
    xml = _diagram("initiated", {"回到发起人": "${initiator}"}, attribute="assignee").replace(
        b'<bpmn:startEvent id="start"/>', b'<bpmn:startEvent id="start" camunda:initiator="initiator"/>')
    assert _deploy(client, people, "initiated", xml).status_code == 201
    case = client.post("/api/v1/process-definitions/initiated/instances", json={"data": {"initiator": "approver"}},
                       headers=people.auth("clerk2"))  # what the request says is not who started it
    assert case.status_code == 201, case.json
    assert _tasks(case)["回到发起人"]["assignee"] == "clerk2"
    assert client.get(f"/api/v1/instances/{case.json['id']}", headers=people.auth("clerk2")).json["data"][
        "initiator"] == "clerk2"
    bad = xml.replace(b'camunda:initiator="initiator"', b'camunda:initiator="${x}"').replace(b"initiated", b"bad_init")
    answer = _deploy(client, people, "bad_init", bad)
    assert answer.status_code in (400, 422) and "camunda:initiator" in str(answer.json)


def test_a_green_channel_lift_stays_within_what_a_rank_can_hold():
    from app.hall.plugin import GREEN_CHANNEL_LIFT, green_channel_rank

    assert green_channel_rank(50) == 50 + GREEN_CHANNEL_LIFT
    assert green_channel_rank(-5) == GREEN_CHANNEL_LIFT - 5
    assert green_channel_rank(2**31 - 1) == green_channel_rank(2**31 - 10) == 2**31 - 1
