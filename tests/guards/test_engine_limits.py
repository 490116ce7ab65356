"""Diagrams that would run forever or grow without bound inside a request or a timer: refused at deploy where the
problem is in the diagram itself, stopped by the engine's limits where it comes from data or from what was
deployed before — each a clear 4xx (or an incident), nothing half-written, the server answering throughout."""

from __future__ import annotations

from datetime import timedelta

import requests

from app.timers import service as timers
from tests.guards.diagrams import bpmn, flow, simple, task, timer, upload


def _start(client, people, key: str, data: dict | None = None, user: str = "clerk"):
    return client.post(f"/api/v1/process-definitions/{key}/instances", json={"data": data or {}},
                       headers=people.auth(user))


def _cases(client, people, key: str) -> list[dict]:
    return client.get("/api/v1/instances", query_string={"key": key, "limit": 100}, headers=people.auth("admin")).json["items"]


def _call(element: str, called: str) -> str:
    return f'<bpmn:callActivity id="{element}" calledElement="{called}" />'


def _caller(key: str, called: str) -> str:
    return bpmn(key, f'<bpmn:startEvent id="start" />{flow("f0", "start", "call")}{_call("call", called)}'
                     f'{flow("f1", "call", "work")}{task("work")}{flow("f2", "work", "end")}<bpmn:endEvent id="end" />')


# -- recursion ----------------------------------------------------------------------------------------------------

def test_a_process_that_calls_itself_is_refused_at_deploy(client, people):
    response = upload(client, people, ("self.bpmn", _caller("self_caller", "self_caller")))
    assert response.status_code == 422, response.json
    assert response.json["code"] == "recursive_call"
    assert response.json["details"]["element"] == "call" and response.json["details"]["path"] == ["self_caller"] * 2


def test_a_call_cycle_across_deployed_keys_or_one_upload_is_refused(client, people):
    first = upload(client, people, ("a.bpmn", _caller("proc_a", "proc_b")))
    assert first.status_code == 201  # proc_b is not deployed yet: resolved when a case gets there
    closing = upload(client, people, ("b.bpmn", _caller("proc_b", "proc_a")))
    assert closing.status_code == 422 and closing.json["code"] == "recursive_call", closing.json
    assert closing.json["details"]["path"] == ["proc_b", "proc_a", "proc_b"]
    together = upload(client, people, ("c.bpmn", _caller("proc_c", "proc_d")), ("d.bpmn", _caller("proc_d", "proc_c")))
    assert together.status_code == 422 and together.json["code"] == "recursive_call"
    listed = client.get("/api/v1/process-definitions", headers=people.auth("admin")).json
    assert {d["key"] for d in listed["items"]} == {"proc_a"}
    # a chain without a cycle is fine
    assert upload(client, people, ("e.bpmn", simple("proc_b"))).status_code == 201


def test_a_cycle_deployed_before_the_check_stops_at_the_nesting_limit(app, in_app, live_server, people, health):
    from app.definitions import service as definitions
    from app.extensions import db

    def store_unchecked():  # as a database from before this check holds it
        definitions.deploy("loop.bpmn", _caller("old_loop", "old_loop").encode(), "analyst")
        db.session.commit()

    in_app(store_unchecked)
    with health():
        response = requests.post(f"{live_server}/api/v1/process-definitions/old_loop/instances", json={},
                                 headers=people.auth("clerk"), timeout=30)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "limit_exceeded" and body["details"]["kind"] == "depth"
    assert body["details"]["element"] == "call" and "16" in body["message"]
    listed = requests.get(f"{live_server}/api/v1/instances", headers=people.auth("admin"), timeout=10).json()
    assert listed["total"] == 0  # nothing stored


def test_a_chain_deeper_than_the_limit_is_stopped(app, client, people):
    app.config["ENGINE_MAX_CALL_DEPTH"] = 3
    for n in range(1, 5):
        assert upload(client, people, (f"chain{n}.bpmn", _caller(f"chain{n}", f"chain{n + 1}"))).status_code == 201
    assert upload(client, people, ("chain5.bpmn", simple("chain5"))).status_code == 201
    response = _start(client, people, "chain1")
    assert response.status_code == 422 and response.json["details"]["kind"] == "depth", response.json
    assert _start(client, people, "chain2").status_code == 201  # three levels deep: within the limit


# -- timer cycles ---------------------------------------------------------------------------------------------

def _reminding(key: str, cycle: str) -> str:
    return bpmn(key, f'<bpmn:startEvent id="start" />{flow("f0", "start", "work")}{task("work")}'
                     f'<bpmn:boundaryEvent id="tick" attachedToRef="work" cancelActivity="false">'
                     f'{timer("timeCycle", cycle)}</bpmn:boundaryEvent>{flow("f1", "tick", "remind")}'
                     f'{task("remind", "催办")}{flow("f2", "work", "end")}<bpmn:endEvent id="end" />')


def test_a_cycle_without_a_positive_period_is_refused_at_deploy(client, people):
    for value in ("R/PT0S", "R5/PT0S", "R/PT0.5S", "R/2026-12-01T09:00:00/PT0S"):
        response = upload(client, people, ("tick.bpmn", _reminding("tick_zero", value)))
        assert response.status_code == 422, (value, response.json)
        assert response.json["details"]["element"] == "tick", response.json
    assert upload(client, people, ("tick.bpmn", _reminding("tick_zero", "R3/PT1H"))).status_code == 201


def test_a_timer_date_out_of_range_is_refused_at_deploy(client, people):
    for value in ("9999-12-31T23:00:00", "0001-01-01T00:00:00+08:00", "P9000Y"):
        kind = "timeDuration" if value.startswith("P") else "timeDate"
        diagram = bpmn("far", f'<bpmn:startEvent id="start" />{flow("f0", "start", "wait")}'
                              f'<bpmn:intermediateCatchEvent id="wait">{timer(kind, value)}</bpmn:intermediateCatchEvent>'
                              f'{flow("f1", "wait", "end")}<bpmn:endEvent id="end" />')
        response = upload(client, people, ("far.bpmn", diagram))
        assert response.status_code == 422 and response.json["details"]["element"] == "wait", (value, response.json)


def test_a_zero_period_from_the_case_data_is_a_422_and_stores_nothing(live_server, people, health):
    with requests.Session() as http:
        deployed = http.post(f"{live_server}/api/v1/process-definitions", headers=people.auth("analyst"),
                             files={"file": ("cyc.bpmn", _reminding("cyc", "${cyc}").encode())}, timeout=30)
        assert deployed.status_code == 201, deployed.text
        with health():
            for value in ("R/PT0S", "R/P0D", "R-3/PT1H"):
                response = http.post(f"{live_server}/api/v1/process-definitions/cyc/instances",
                                     json={"data": {"cyc": value}}, headers=people.auth("clerk"), timeout=30)
                assert response.status_code == 422, (value, response.text)
                assert response.json()["details"]["element"] == "tick"
        listed = http.get(f"{live_server}/api/v1/instances", headers=people.auth("admin"), timeout=10).json()
        assert listed["total"] == 0


def _timer_start(key: str, cycle: str) -> str:
    return bpmn(key, f'<bpmn:startEvent id="start">{timer("timeCycle", cycle)}</bpmn:startEvent>'
                     f'{flow("f0", "start", "work")}{task("work")}{flow("f1", "work", "end")}<bpmn:endEvent id="end" />')


def test_a_cycle_on_a_timer_start_event_starts_a_case_at_each_firing(in_app, client, people, clock):
    assert upload(client, people, ("every.bpmn", _timer_start("every", "R3/PT1S"))).status_code == 201
    [armed] = _cases(client, people, "every")
    for fired in range(1, 4):
        clock.advance(seconds=1)
        assert in_app(timers.fire_due) == 1
        cases = _cases(client, people, "every")
        waiting = [c for c in cases if not client.get(f"/api/v1/instances/{c['id']}", headers=people.auth("admin"))
                   .json["tasks"]]
        started = [c for c in cases if c not in waiting]
        assert len(started) == fired and len(waiting) == (1 if fired < 3 else 0), (fired, cases)
    for case in started:  # each case ran its path once: one task, not one per second
        detail = client.get(f"/api/v1/instances/{case['id']}", headers=people.auth("admin")).json
        assert [t["element_id"] for t in detail["tasks"]] == ["work"] and detail["timers"] == []
    assert armed["id"] in {c["id"] for c in started}
    clock.advance(seconds=5)
    assert in_app(timers.fire_due) == 0  # R3: three cases, then the cycle is spent


def test_a_forever_start_cycle_keeps_one_armed_case_and_skips_missed_firings(in_app, client, people, clock):
    assert upload(client, people, ("hourly.bpmn", _timer_start("hourly", "R/PT1H"))).status_code == 201
    clock.advance(hours=30)  # the server was away: one case now, the next one an hour on
    assert in_app(timers.fire_due) == 1
    assert in_app(timers.fire_due) == 0
    timers_waiting = client.get("/api/v1/timers", headers=people.auth("ops")).json["items"]
    assert len(timers_waiting) == 1 and timers_waiting[0]["kind"] == "start"
    assert timers_waiting[0]["due_at"] == (clock.current + timedelta(hours=1)).astimezone(
        timezone_shanghai()).isoformat()


def timezone_shanghai():
    from app.clock import SHANGHAI

    return SHANGHAI


# -- the step and time budget ---------------------------------------------------------------------------------------

def _spinning(key: str, after_task: bool) -> str:
    """An automatic loop that never ends: gateway → none event → gateway, by the default flow."""
    head = (f'<bpmn:startEvent id="start" />{flow("f0", "start", "work")}{task("work")}{flow("f1", "work", "gw")}'
            if after_task else f'<bpmn:startEvent id="start" />{flow("f0", "start", "gw")}')
    return bpmn(key, f'{head}<bpmn:exclusiveGateway id="gw" default="again" />'
                     f'{flow("again", "gw", "turn")}{flow("out", "gw", "end", "stop == True")}'
                     f'<bpmn:intermediateThrowEvent id="turn" />{flow("back", "turn", "gw")}<bpmn:endEvent id="end" />')


def test_an_endless_loop_at_start_stops_at_the_step_budget(app, live_server, people, health):
    app.config["ENGINE_MAX_STEPS"] = 3000  # past SpiffWorkflow's 1,000-level iterator
    with requests.Session() as http:
        deployed = http.post(f"{live_server}/api/v1/process-definitions", headers=people.auth("analyst"),
                             files={"file": ("spin.bpmn", _spinning("spin", after_task=False).encode())}, timeout=30)
        assert deployed.status_code == 201, deployed.text
        with health():
            response = http.post(f"{live_server}/api/v1/process-definitions/spin/instances",
                                 json={"data": {"stop": False}}, headers=people.auth("clerk"), timeout=60)
        assert response.status_code == 422, response.text
        body = response.json()
        assert body["code"] == "limit_exceeded" and body["details"]["kind"] == "steps"
        assert body["details"]["element"] in ("gw", "turn") and "3000" in body["message"]
        assert http.get(f"{live_server}/api/v1/instances", headers=people.auth("admin"), timeout=10).json()["total"] == 0


def test_an_endless_loop_after_a_task_is_an_incident_and_the_step_is_rolled_back(app, client, people):
    app.config["ENGINE_MAX_STEPS"] = 2000
    assert upload(client, people, ("spin2.bpmn", _spinning("spin2", after_task=True))).status_code == 201
    case = _start(client, people, "spin2", {"stop": False}).json
    work = case["tasks"][0]["id"]
    response = client.post(f"/api/v1/tasks/{work}/complete", json={"data": {}}, headers=people.auth("clerk"))
    assert response.status_code == 422 and response.json["code"] == "limit_exceeded", response.json
    assert response.json["details"]["incident"] == f"case-{case['id']}"
    detail = client.get(f"/api/v1/instances/{case['id']}", headers=people.auth("admin")).json
    assert detail["state"] == "error" and "[gw]" in detail["error"] or "[turn]" in detail["error"]
    assert [t["id"] for t in detail["tasks"]] == [work]  # the completion was rolled back: the task is still open
    incident = client.get(f"/api/v1/incidents/case-{case['id']}", headers=people.auth("ops")).json
    assert incident["kind"] == "failed_step" and incident["element_id"] in ("gw", "turn")


def test_the_wall_clock_budget(app, client, people):
    app.config.update(ENGINE_MAX_STEPS=10_000_000, ENGINE_MAX_SECONDS=0.3)
    assert upload(client, people, ("spin3.bpmn", _spinning("spin3", after_task=False))).status_code == 201
    response = _start(client, people, "spin3", {"stop": False})
    assert response.status_code == 422 and response.json["details"]["kind"] == "seconds", response.json


# -- multi-instance and branches -----------------------------------------------------------------------------------

def _many(key: str, loop: str) -> str:
    return bpmn(key, f'<bpmn:startEvent id="start" />{flow("f0", "start", "each")}'
                     f'{task("each", extra=loop)}{flow("f1", "each", "end")}<bpmn:endEvent id="end" />')


def test_a_multi_instance_cardinality_from_data_is_capped(client, people):
    by_count = '<bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>${n}</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics>'
    by_list = '<bpmn:multiInstanceLoopCharacteristics camunda:collection="items" camunda:elementVariable="item" />'
    assert upload(client, people, ("n.bpmn", _many("by_count", by_count))).status_code == 201
    assert upload(client, people, ("l.bpmn", _many("by_list", by_list))).status_code == 201
    for key, data in (("by_count", {"n": 20_000}), ("by_list", {"items": list(range(20_000))})):
        response = _start(client, people, key, data)
        assert response.status_code == 422, response.json
        assert response.json["code"] == "limit_exceeded" and response.json["details"]["kind"] == "instances"
        assert response.json["details"]["element"] == "each"
    fine = _start(client, people, "by_count", {"n": 3})
    assert fine.status_code == 201 and len(fine.json["tasks"]) == 3


def test_a_literal_cardinality_past_the_cap_is_refused_at_deploy(client, people):
    literal = '<bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>20000</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics>'
    response = upload(client, people, ("big.bpmn", _many("big", literal)))
    assert response.status_code == 422 and response.json["details"]["element"] == "each", response.json


def test_a_repeating_timer_that_piles_up_branches_ends_as_an_incident(app, in_app, client, people, clock):
    app.config["ENGINE_MAX_BRANCHES"] = 6
    assert upload(client, people, ("pile.bpmn", _reminding("pile", "R/PT1H"))).status_code == 201
    case = _start(client, people, "pile").json
    for _ in range(12):
        clock.advance(hours=1)
        in_app(timers.fire_due)
    failed = client.get("/api/v1/timers", query_string={"state": "failed"}, headers=people.auth("ops")).json["items"]
    assert len(failed) == 1 and failed[0]["attempts"] == 3 and "6" in failed[0]["last_error"], failed
    detail = client.get(f"/api/v1/instances/{case['id']}", headers=people.auth("admin")).json
    assert detail["state"] == "error" and len(detail["tasks"]) <= 6
    incidents = client.get("/api/v1/incidents", headers=people.auth("ops")).json["items"]
    assert [i["id"] for i in incidents] == [f"timer-{failed[0]['id']}"]
