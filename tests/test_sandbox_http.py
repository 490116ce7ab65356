"""The script sandbox seen through the API: a diagram whose script attacks fails its own case with a 422
(`case_failed`, the element and the reason), the server answers on, and a looping timer script becomes an
incident while other cases' timers still fire."""

from __future__ import annotations

import io

import pytest

from app.extensions import db
from app.timers import service as timers
from app.timers.models import Timer

SCRIPTED = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="defs_{key}" targetNamespace="http://tongban.example/bpmn">
  <bpmn:process id="{key}" name="沙箱测试" isExecutable="true">
    <bpmn:laneSet id="lanes"><bpmn:lane id="lane_window" name="测试受理岗">
      <bpmn:flowNodeRef>start</bpmn:flowNodeRef>{lane_refs}
    </bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="start" />
    {body}
  </bpmn:process>
</bpmn:definitions>"""


def _diagram(key: str, script: str, *, before: str = "") -> bytes:
    """start -> [before] -> script task `script_step` -> user task `after` -> end."""
    script = script.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if before == "timer":
        head = ('<bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="pause" />'
                '<bpmn:intermediateCatchEvent id="pause" name="等待五分钟"><bpmn:timerEventDefinition id="t1">'
                '<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">PT5M</bpmn:timeDuration>'
                '</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>'
                '<bpmn:sequenceFlow id="f1" sourceRef="pause" targetRef="script_step" />')
        refs = ["pause"]
    elif before == "task":
        head = ('<bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="work" />'
                '<bpmn:userTask id="work" name="办理" />'
                '<bpmn:sequenceFlow id="f1" sourceRef="work" targetRef="script_step" />')
        refs = ["work"]
    else:
        head = '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="script_step" />'
        refs = []
    body = (head + f'<bpmn:scriptTask id="script_step" name="计算"><bpmn:script>{script}</bpmn:script></bpmn:scriptTask>'
            '<bpmn:sequenceFlow id="f2" sourceRef="script_step" targetRef="after" />'
            '<bpmn:userTask id="after" name="核对" />'
            '<bpmn:sequenceFlow id="f3" sourceRef="after" targetRef="end" /><bpmn:endEvent id="end" />')
    lane_refs = "".join(f"<bpmn:flowNodeRef>{ref}</bpmn:flowNodeRef>" for ref in [*refs, "script_step", "after", "end"])
    return SCRIPTED.format(key=key, body=body, lane_refs=lane_refs).encode()


def _upload(client, people, key: str, content: bytes):
    return client.post("/api/v1/process-definitions", data={"file": [(io.BytesIO(content), f"{key}.bpmn")]},
                       headers=people.auth("analyst"), content_type="multipart/form-data")


def _deploy(client, people, key: str, content: bytes) -> None:
    response = _upload(client, people, key, content)
    assert response.status_code == 201, response.json


def _start(client, people, key: str, data: dict | None = None):
    return client.post(f"/api/v1/process-definitions/{key}/instances", json={"data": data or {}},
                       headers=people.auth("clerk"))


@pytest.fixture()
def quick(app):
    """A one-second budget keeps the looping attacks short."""
    before = app.config["SCRIPT_TIMEOUT_SECONDS"]
    app.config["SCRIPT_TIMEOUT_SECONDS"] = 1.0
    yield
    app.config["SCRIPT_TIMEOUT_SECONDS"] = before


# What the sandbox's compiler refuses (imports off the allow-list, `_` names) is refused at deploy already, with
# the same reason ("deploy"); the rest compiles and fails its case when it runs ("run").
ATTACKS = {
    "import os": ("import os\nenv = dict(os.environ)", "import", "deploy"),
    "dunder import": ("token = __import__('os').environ['TONGBAN_ADMIN_TOKEN']", "沙箱规则", "deploy"),
    "open a file": ("text = open('/etc/passwd').read()", "NameError", "run"),
    "environ through a module": ("import statistics\nenv = statistics.sys.modules['os'].environ", "AttributeError",
                                 "run"),
    "format string attribute": ("s = '{0.__class__.__mro__}'.format(1)", "AttributeError", "run"),
    "subclasses": ("x = ().__class__.__bases__[0].__subclasses__()", "沙箱规则", "deploy"),
    "system exit": ("raise SystemExit(3)", "SystemExit", "run"),
    "keyboard interrupt": ("raise KeyboardInterrupt", "KeyboardInterrupt", "run"),
    "endless loop": ("while True:\n    pass", "超时", "run"),
    "deep recursion": ("def f(n):\n    return f(n + 1)\nf(0)", "递归过深", "run"),
    "big allocation": ("blob = [0] * 10 ** 9", "内存", "run"),
    "not json": ("left = {1, 2, 3}", "不是 JSON", "run"),
}


@pytest.mark.parametrize("script,reason,refused_at", ATTACKS.values(), ids=ATTACKS.keys())
def test_an_attacking_script_fails_its_case_with_a_reason_and_the_server_goes_on(client, people, quick, script,
                                                                                  reason, refused_at):
    _deploy(client, people, "harmless", _diagram("harmless", "total = 1 + 1"))
    if refused_at == "deploy":  # never stored, so no case can run it
        response = _upload(client, people, "attack", _diagram("attack", script))
        assert response.status_code == 422, response.json
        body = response.json
        assert body["code"] == "invalid_expression" and body["details"]["element"] == "script_step"
        assert "沙箱规则" in body["message"] and reason in body["message"], body["message"]
        assert _start(client, people, "attack", {"applicant": "张三"}).status_code == 404
    else:
        _deploy(client, people, "attack", _diagram("attack", script))
        response = _start(client, people, "attack", {"applicant": "张三"})
        assert response.status_code == 422, response.json
        body = response.json
        assert body["code"] == "case_failed" and body["details"]["element"] == "script_step"
        assert reason in body["message"], body["message"]
    assert client.get("/healthz").status_code == 200
    fine = _start(client, people, "harmless")
    assert fine.status_code == 201 and fine.json["data"]["total"] == 2


def test_no_secret_reaches_case_data(client, people, quick, monkeypatch):
    monkeypatch.setenv("TONGBAN_ADMIN_TOKEN", "secret-admin-token")
    monkeypatch.setenv("DATABASE_URL", "postgresql://user:secret-password@db/x")
    attempts = ["import os\nleak = os.environ.get('TONGBAN_ADMIN_TOKEN')",
                "leak = [v for k, v in globals().items()]",
                "import json\nleak = json.codecs.open('/proc/self/environ').read()",
                "leak = str(vars())",
                "leak = repr(datetime.now)"]
    for number, script in enumerate(attempts):
        key = f"leak{number}"
        deployed = _upload(client, people, key, _diagram(key, script))
        if number == 0:  # `import os` is refused at deploy: its answer leaks nothing either
            assert deployed.status_code == 422, deployed.json
            response = deployed
        else:
            assert deployed.status_code == 201, deployed.json
            response = _start(client, people, key)
        text = response.get_data(as_text=True)
        assert "secret-admin-token" not in text and "secret-password" not in text
    cases = client.get("/api/v1/instances", headers=people.auth("ops")).get_data(as_text=True)
    assert "secret-admin-token" not in cases and "secret-password" not in cases


def test_import_math_and_datetimes_within_a_script_work(client, people):
    script = ("import math\nfrom datetime import datetime as dt\n"
              "root = math.sqrt(area)\nstarted = dt(2026, 11, 25, 9, 0)\n"
              "deadline = started + timedelta(days=3)\nlate = deadline < started\n"
              "label = deadline.strftime('%Y年%m月%d日')")
    _deploy(client, people, "ordinary", _diagram("ordinary", script))
    response = _start(client, people, "ordinary", {"area": 16})
    assert response.status_code == 201, response.json
    data = response.json["data"]
    assert data["root"] == 4.0 and data["late"] is False and data["label"] == "2026年11月28日"
    assert data["deadline"] == "2026-11-28T09:00:00"  # a datetime left in the data is kept as ISO 8601 text


def test_a_failing_script_after_a_user_task_is_a_422_and_the_task_stays_open(client, people, quick):
    _deploy(client, people, "after_task", _diagram("after_task", "raise SystemExit(3)", before="task"))
    case = _start(client, people, "after_task")
    assert case.status_code == 201
    task_id = case.json["tasks"][0]["id"]
    done = client.post(f"/api/v1/tasks/{task_id}/complete", json={"data": {}}, headers=people.auth("clerk"))
    assert done.status_code == 422 and done.json["code"] == "case_failed"
    assert done.json["details"]["element"] == "script_step" and "SystemExit" in done.json["message"]
    detail = client.get(f"/api/v1/instances/{case.json['id']}", headers=people.auth("clerk")).json
    assert detail["state"] == "running" and [t["element_id"] for t in detail["tasks"]] == ["work"]
    assert client.get("/healthz").status_code == 200


def test_a_timer_expression_goes_through_the_sandbox(client, people, quick):
    looping = _diagram("timer_expr", "x = 1", before="timer").replace(
        b">PT5M<", b">sum(1 for i in iter(int, 1))<")
    _deploy(client, people, "timer_expr", looping)
    response = _start(client, people, "timer_expr")
    assert response.status_code == 422 and response.json["details"]["element"] == "pause"
    assert "超时" in response.json["message"]


def test_a_looping_timer_script_becomes_an_incident_and_other_timers_still_fire(app, client, people, clock, quick,
                                                                                  in_app):
    _deploy(client, people, "loops_later", _diagram("loops_later", "while True:\n    pass", before="timer"))
    _deploy(client, people, "fine_later", _diagram("fine_later", "total = 2", before="timer"))
    looping = _start(client, people, "loops_later").json
    fine = _start(client, people, "fine_later").json
    clock.advance(minutes=5)
    advanced = 0
    for _attempt in range(3):
        # as the scheduler fires them (an app context of its own); returns: the worker is killed at the timeout,
        # the timer is retried
        advanced += in_app(timers.fire_due)
        clock.advance(seconds=11)
    assert advanced == 1  # the other case's timer fired on the first pass
    detail = client.get(f"/api/v1/instances/{looping['id']}", headers=people.auth("clerk")).json
    assert detail["state"] == "error" and "超时" in detail["error"], detail
    other = client.get(f"/api/v1/instances/{fine['id']}", headers=people.auth("clerk")).json
    assert other["state"] == "running" and other["data"]["total"] == 2
    assert [t["element_id"] for t in other["tasks"]] == ["after"]
    with app.app_context():
        failed = db.session.scalars(db.select(Timer).where(Timer.state == "failed")).all()
        assert [t.instance_id for t in failed] == [looping["id"]] and failed[0].attempts == 3
    assert client.get("/healthz").status_code == 200
