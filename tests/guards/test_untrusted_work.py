"""Work whose cost the diagram's author controls stays bounded in the server: DMN entries are marked in linear
time and bounded in length (at deploy, and at evaluation for tables stored before), every cell is checked at
deploy like every other expression; and a timer whose firing kills its server process uses up its attempts and
ends as an incident instead of killing workers for ever."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import requests

from app.engine.decisions import cell_expression, mark_input
from tests.conftest import ROOT
from tests.guards.diagrams import bpmn, flow, task, timer, upload

DMN = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d" name="档次" namespace="http://t">
  <decision id="level" name="档次">
    <decisionTable id="table" hitPolicy="FIRST">
      <input id="in_area" label="面积"><inputExpression id="in_expr" typeRef="number"><text>area</text></inputExpression></input>
      <output id="out_level" label="档次" name="level" typeRef="string" />
      <rule id="r1"><inputEntry id="r1_in"><text>ENTRY</text></inputEntry><outputEntry id="r1_out"><text>OUTPUT</text></outputEntry></rule>
      <rule id="r2"><inputEntry id="r2_in"><text>-</text></inputEntry><outputEntry id="r2_out"><text>"其他"</text></outputEntry></rule>
    </decisionTable>
  </decision>
</definitions>"""


def _dmn(entry: str = "&lt; 100", output: str = '"小额"') -> str:
    return DMN.replace("ENTRY", entry).replace("OUTPUT", output)


def _deciding(key: str = "deciding") -> str:
    return bpmn(key, f'<bpmn:startEvent id="start" />{flow("f0", "start", "decide")}'
                     f'<bpmn:businessRuleTask id="decide" camunda:decisionRef="level" />'
                     f'{flow("f1", "decide", "work")}{task("work")}{flow("f2", "work", "end")}<bpmn:endEvent id="end" />')


def test_the_input_mark_is_spiffworkflows_meaning_in_linear_time():
    import re

    spiff = re.compile(r'(\?)(?=(?:[^\'"]|[\'"][^\'"]*[\'"])*$)')
    for text in ['? > 5', '"what?" == ?', "'a?b' + ?", '? in ("x?", \'y\')', '"?', "?'?'?", "a ? b ? c"]:
        assert mark_input(text) == spiff.sub("dmninputexpr", text), text
    began = time.monotonic()
    mark_input("?" * 200_000)
    assert time.monotonic() - began < 1.0
    assert cell_expression("area", "< 100") == "area< 100"
    assert cell_expression("area", '"小额"') == '(area) == ("小额")'


def test_a_dmn_entry_of_80000_question_marks_is_refused_at_deploy_at_once(client, people):
    began = time.monotonic()
    response = upload(client, people, ("level.dmn", _dmn(entry="?" * 80_000)))
    assert time.monotonic() - began < 5
    assert response.status_code == 422, response.json
    assert response.json["details"]["element"] == "r1_in" and "1000" in response.json["message"]


def test_dmn_cells_are_checked_at_deploy_like_every_expression(client, people):
    for entry, output, element in (("&lt; 100", "__import__('os').system('id')", "r1_out"),
                                   ("? &gt; ().__class__", '"x"', "r1_in"),
                                   ("&lt; 100 +", '"x"', "r1_in")):
        response = upload(client, people, ("level.dmn", _dmn(entry, output)))
        assert response.status_code == 422, (entry, output, response.json)
        assert response.json["details"]["element"] == element, response.json
    assert upload(client, people, ("level.dmn", _dmn("? &gt;= 10 and ? &lt; 100"))).status_code == 201
    assert upload(client, people, ("deciding.bpmn", _deciding())).status_code == 201
    case = client.post("/api/v1/process-definitions/deciding/instances", json={"data": {"area": 50}},
                       headers=people.auth("clerk")).json
    assert case["data"]["level"] == "小额"


def test_a_table_stored_before_the_check_cannot_freeze_a_worker(in_app, live_server, people, health):
    from app.clock import now
    from app.definitions.models import ProcessDefinition
    from app.extensions import db

    def store(content: str) -> None:  # as a database from before the deploy check holds it
        db.session.add(ProcessDefinition(key="level", version=1, kind="dmn", name="档次", filename="level.dmn",
                                         content=content, checksum="x", depends_on=[], deployed_at=now(),
                                         state="active"))
        db.session.commit()

    in_app(store, _dmn(entry="?" * 80_000))
    with requests.Session() as http:
        deployed = http.post(f"{live_server}/api/v1/process-definitions", headers=people.auth("analyst"),
                             files={"file": ("deciding.bpmn", _deciding().encode())}, timeout=30)
        assert deployed.status_code == 201, deployed.text
        with health():
            began = time.monotonic()
            response = http.post(f"{live_server}/api/v1/process-definitions/deciding/instances",
                                 json={"data": {"area": 50}}, headers=people.auth("clerk"), timeout=60)
            assert time.monotonic() - began < 5
        assert response.status_code == 422 and response.json()["details"]["element"] == "decide", response.text


# -- a timer whose firing kills the server process ----------------------------------------------------------------

_CHILD = textwrap.dedent("""
    import os, signal, sys
    from datetime import datetime
    from app import create_app
    from app.engine.case import Case
    from app.timers import service

    app = create_app({"SQLALCHEMY_DATABASE_URI": sys.argv[1], "SCHEDULER_ENABLED": False})
    app.config["CLOCK"] = lambda: datetime.fromisoformat(sys.argv[2])
    Case.fire_timers = lambda self: os.kill(os.getpid(), signal.SIGKILL)  # the step takes the process down
    with app.app_context():
        print(service.fire_due())
""")


def test_a_timer_whose_firing_kills_its_process_ends_as_an_incident(app, client, people, clock):
    from datetime import timedelta

    waiting = bpmn("doomed", f'<bpmn:startEvent id="start" />{flow("f0", "start", "wait")}'
                             f'<bpmn:intermediateCatchEvent id="wait">{timer("timeDuration", "PT5M")}'
                             f'</bpmn:intermediateCatchEvent>{flow("f1", "wait", "work")}{task("work")}'
                             f'{flow("f2", "work", "end")}<bpmn:endEvent id="end" />')
    assert upload(client, people, ("doomed.bpmn", waiting)).status_code == 201
    case = client.post("/api/v1/process-definitions/doomed/instances", json={}, headers=people.auth("clerk")).json
    from app.timers.service import ATTEMPT_STALE

    codes = []
    due = clock.current + timedelta(minutes=6)
    # a pass right after a death leaves the attempt alone (it may be another process's, still running)
    early = subprocess.run([sys.executable, "-c", _CHILD, app.config["SQLALCHEMY_DATABASE_URI"], due.isoformat()],
                           cwd=ROOT, capture_output=True, timeout=120)
    assert early.returncode == -9
    for n in range(4):  # each later pass comes once the unfinished attempt is old enough to be a dead one
        at = (due + (n + 1) * ATTEMPT_STALE).isoformat()
        child = subprocess.run([sys.executable, "-c", _CHILD, app.config["SQLALCHEMY_DATABASE_URI"], at],
                               cwd=ROOT, capture_output=True, timeout=120)
        codes.append(child.returncode)
        if n == 0:  # the same moment again: the attempt just begun is left alone, nothing fires
            again = subprocess.run([sys.executable, "-c", _CHILD, app.config["SQLALCHEMY_DATABASE_URI"], at],
                                   cwd=ROOT, capture_output=True, timeout=120)
            assert again.returncode == 0 and again.stdout.strip() == b"0", again
    assert codes[:2] == [-9, -9] and codes[2] == 0, codes  # three attempts died; the next pass stops it
    clock.set(due + 5 * ATTEMPT_STALE)
    failed = client.get("/api/v1/timers", query_string={"state": "failed"}, headers=people.auth("ops")).json["items"]
    assert len(failed) == 1 and failed[0]["attempts"] == 3 and "进程终止" in failed[0]["last_error"], failed
    incident = client.get(f"/api/v1/incidents/timer-{failed[0]['id']}", headers=people.auth("ops")).json
    assert incident["instance_id"] == case["id"] and incident["element_id"] == "wait"
    assert client.get(f"/api/v1/instances/{case['id']}", headers=people.auth("admin")).json["state"] == "error"
    # ops retry it: the timer fires (in this process, where nothing kills it)
    from app.timers import service as timers

    assert client.post(f"/api/v1/incidents/timer-{failed[0]['id']}/retry", headers=people.auth("ops")).status_code == 200
    with app.app_context():
        assert timers.fire_due() == 1
    fired = client.get("/api/v1/timers", query_string={"state": "fired"}, headers=people.auth("ops")).json["items"]
    assert [t["attempts"] for t in fired] == [0]
    tasks = client.get(f"/api/v1/instances/{case['id']}", headers=people.auth("admin")).json["tasks"]
    assert [t["element_id"] for t in tasks] == ["work"]
