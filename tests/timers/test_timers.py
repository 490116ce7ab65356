"""BPMN timers: boundary (both kinds) and intermediate catch, fired from the due-time table as the clock moves."""

from __future__ import annotations

import io
import time

from app.extensions import db
from app.timers import service as timers
from app.timers.models import Timer
from tests.conftest import FIXTURES, deploy


def _start(client, people, key):
    response = client.post(f"/api/v1/process-definitions/{key}/instances", json={}, headers=people.auth("clerk"))
    assert response.status_code == 201, response.json
    return response.json


def _get(client, people, case_id):
    return client.get(f"/api/v1/instances/{case_id}", headers=people.auth("clerk")).json


def _to_approval(client, people):
    deploy(client, people, "two_step.bpmn")
    case = _start(client, people, "two_step")
    task = case["tasks"][0]["id"]
    client.post(f"/api/v1/tasks/{task}/complete", json={"data": {"applicant": "甲", "materials_complete": True}},
                headers=people.auth("clerk"))
    return case


def test_non_interrupting_boundary_escalates_and_the_step_stays(in_app, client, people, clock):
    case = _to_approval(client, people)
    clock.advance(minutes=59)
    assert in_app(timers.fire_due) == 0
    assert [t["element_id"] for t in _get(client, people, case["id"])["tasks"]] == ["approve"]

    clock.advance(minutes=1, seconds=1)
    assert in_app(timers.fire_due) == 1
    detail = _get(client, people, case["id"])
    assert sorted(t["element_id"] for t in detail["tasks"]) == ["approve", "escalate"]
    assert detail["timers"] == []
    escalation = [t for t in detail["tasks"] if t["element_id"] == "escalate"][0]
    assert escalation["post"] == "测试督查岗"
    fired = in_app(lambda: db.session.scalars(db.select(Timer).where(Timer.instance_id == case["id"])).all())
    assert [(t.state, t.element_id) for t in fired] == [("fired", "approve_overdue")]
    assert in_app(timers.fire_due) == 0  # fired exactly once


def test_completing_the_step_cancels_its_timer(in_app, client, people, clock):
    case = _to_approval(client, people)
    approve = _get(client, people, case["id"])["tasks"][0]["id"]
    done = client.post(f"/api/v1/tasks/{approve}/complete", json={"data": {"decision": "grant"}},
                       headers=people.auth("approver"))
    assert done.status_code == 200, done.json
    detail = _get(client, people, case["id"])
    assert detail["state"] == "completed" and detail["ended_at"] is not None
    clock.advance(hours=2)
    assert in_app(timers.fire_due) == 0
    states = in_app(lambda: db.session.scalars(db.select(Timer.state).where(Timer.instance_id == case["id"])).all())
    assert states == ["cancelled"]


def test_intermediate_catch_then_interrupting_boundary(in_app, client, people, clock):
    deploy(client, people, "waits.bpmn")
    case = _start(client, people, "waits")
    detail = _get(client, people, case["id"])
    assert detail["tasks"] == [] and detail["timers"][0]["element_id"] == "pause"
    assert detail["timers"][0]["due_at"] == "2026-11-25T09:05:00+08:00"  # shown in Shanghai time

    clock.advance(minutes=5)
    assert in_app(timers.fire_due) == 1
    detail = _get(client, people, case["id"])
    assert [t["element_id"] for t in detail["tasks"]] == ["work"]

    clock.advance(days=1, seconds=1)
    assert in_app(timers.fire_due) == 1
    detail = _get(client, people, case["id"])
    assert [t["element_id"] for t in detail["tasks"]] == ["late"]  # interrupting: "work" was cancelled
    cancelled = client.get("/api/v1/tasks", query_string={"instance": case["id"], "state": "cancelled"},
                           headers=people.auth("clerk")).json
    assert [t["element_id"] for t in cancelled["items"]] == ["work"]


def test_timers_of_many_cases_fire_in_one_pass(in_app, client, people, clock):
    deploy(client, people, "waits.bpmn")
    ids = [_start(client, people, "waits")["id"] for _ in range(5)]
    clock.advance(minutes=6)
    assert in_app(timers.fire_due) == 5
    for case_id in ids:
        assert [t["element_id"] for t in _get(client, people, case_id)["tasks"]] == ["work"]


def test_the_scheduler_pass_drains_a_burst_beyond_one_pass(in_app, client, people, clock):
    """A pass fires at most `limit` timers; the scheduler's pass goes on while passes find a full page."""
    deploy(client, people, "waits.bpmn")
    for _ in range(7):
        _start(client, people, "waits")
    clock.advance(minutes=6)
    assert in_app(lambda: timers.fire_due(limit=3)) == 3
    assert in_app(lambda: timers.drain_due(limit=3)) == 4  # the other four, in passes of three, three and none
    assert in_app(lambda: timers.drain_due(limit=3)) == 0
    assert in_app(lambda: db.session.scalar(db.select(db.func.count()).select_from(Timer).where(
        Timer.state == "fired"))) == 7


def test_due_timers_of_stopped_cases_never_block_the_others(in_app, client, people, clock, monkeypatch):
    """Timers of cases in error or suspended wait in their rows; a pass pages past them (two a page here) to the
    due timers behind them, and they fire once their case runs again."""
    from app.instances.models import ProcessInstance

    deploy(client, people, "waits.bpmn")
    stopped = [_start(client, people, "waits")["id"] for _ in range(3)]
    clock.advance(seconds=30)
    behind = [_start(client, people, "waits")["id"] for _ in range(2)]
    monkeypatch.setattr(timers, "PAGE", 2)

    def stop(state: str) -> None:
        for case_id in stopped:
            db.session.get(ProcessInstance, case_id).state = state
        db.session.commit()

    in_app(lambda: stop("error"))
    clock.advance(minutes=6)
    assert in_app(timers.fire_due) == 2  # the two behind, past three earlier ones of stopped cases
    for case_id in behind:
        assert [t["element_id"] for t in _get(client, people, case_id)["tasks"]] == ["work"]
    assert in_app(lambda: db.session.scalar(db.select(db.func.count()).select_from(Timer).where(
        Timer.instance_id.in_(stopped), Timer.state == "waiting", Timer.attempts == 0))) == 3
    in_app(lambda: stop("running"))
    assert in_app(timers.fire_due) == 3


def test_a_scheduler_doing_its_job_logs_no_warning():
    """A tick skipped while the last pass drains, or run late, is not news; APScheduler's other warnings are."""
    import logging

    from app.timers.scheduler import _QuietTicks

    def record(message: str) -> logging.LogRecord:
        return logging.LogRecord("apscheduler.scheduler", logging.WARNING, __file__, 1, message, None, None)

    quiet = _QuietTicks()
    assert not quiet.filter(record('Execution of job "fire_due_timers" skipped: maximum number of running '
                                   'instances reached (1)'))
    assert not quiet.filter(record('Run time of job "fire_due_timers" was missed by 0:00:01.2'))
    assert quiet.filter(record("Job \"fire_due_timers\" raised an exception"))


def test_cancelled_case_leaves_no_waiting_timer(in_app, client, people, clock):
    deploy(client, people, "waits.bpmn")
    case = _start(client, people, "waits")
    cancelled = client.post(f"/api/v1/instances/{case['id']}/cancel", json={"reason": "申请人撤回"},
                            headers=people.auth("boss"))
    assert cancelled.status_code == 200 and cancelled.json["state"] == "cancelled"
    clock.advance(hours=1)
    assert in_app(timers.fire_due) == 0
    again = client.post(f"/api/v1/instances/{case['id']}/cancel", json={}, headers=people.auth("boss"))
    assert again.status_code == 409


def test_scheduler_fires_within_a_second_on_the_real_clock(app, client, people):
    """The one test on the wall clock: APScheduler polls the due-time table twice a second."""
    from app.timers import scheduler

    app.config["CLOCK"] = None
    one_second = (FIXTURES / "waits.bpmn").read_bytes().replace(b'"PT5M"', b"PT1S")
    upload = client.post("/api/v1/process-definitions", data={"file": [(io.BytesIO(one_second), "waits.bpmn")]},
                         headers=people.auth("analyst"), content_type="multipart/form-data")
    assert upload.status_code == 201
    case = _start(client, people, "waits")
    with app.app_context():
        row_id, due = db.session.execute(db.select(Timer.id, Timer.due_at).where(Timer.instance_id == case["id"])).one()

    sched = scheduler.start(app)
    try:
        deadline = time.monotonic() + 5
        current = None
        while time.monotonic() < deadline:
            with app.app_context():  # each look a transaction of its own, so the scheduler's thread can write
                current = db.session.get(Timer, row_id)
            if current.state == "fired":
                break
            time.sleep(0.05)
    finally:
        sched.shutdown(wait=True)
    assert current is not None and current.state == "fired"
    assert (current.fired_at - due).total_seconds() < 1.0
    assert [t["element_id"] for t in _get(client, people, case["id"])["tasks"]] == ["work"]


def test_a_failing_timer_is_retried_then_becomes_an_incident_ops_can_retry(in_app, client, people, clock):
    deploy(client, people, "broken_after_wait.bpmn")
    case = _start(client, people, "broken_after_wait")
    clock.advance(minutes=5)
    for _attempt in range(3):
        assert in_app(timers.fire_due) == 0
        clock.advance(seconds=11)
    detail = _get(client, people, case["id"])
    assert detail["state"] == "error" and "division by zero" in detail["error"]
    failed = client.get("/api/v1/timers", query_string={"state": "failed"}, headers=people.auth("ops")).json
    assert failed["total"] == 1 and failed["items"][0]["attempts"] == 3
    retried = client.post(f"/api/v1/timers/{failed['items'][0]['id']}/retry", headers=people.auth("ops"))
    assert retried.status_code == 200 and retried.json["state"] == "waiting"
    assert _get(client, people, case["id"])["state"] == "running"
    again = client.post(f"/api/v1/timers/{failed['items'][0]['id']}/retry", headers=people.auth("ops"))
    assert again.status_code == 409
