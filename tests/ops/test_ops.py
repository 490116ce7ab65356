"""Operable: /metrics, /readyz beside /healthz, incidents with retry and resolve, JSON logs with request ids."""

from __future__ import annotations

import json
import logging

from app.timers import service as timers
from tests.conftest import deploy


def _incident(client, people, clock, in_app):
    deploy(client, people, "broken_after_wait.bpmn")
    case = client.post("/api/v1/process-definitions/broken_after_wait/instances", json={},
                       headers=people.auth("clerk")).json
    clock.advance(minutes=5)
    for _attempt in range(3):
        in_app(timers.fire_due)  # as the scheduler fires them: an app context of its own
        clock.advance(seconds=11)
    return case


def test_a_failing_timer_is_in_the_incidents_the_metrics_and_the_log(client, people, clock, caplog, in_app):
    with caplog.at_level(logging.WARNING, logger="app.timers.service"):
        case = _incident(client, people, clock, in_app)
    logged = [r for r in caplog.records if getattr(r, "incident", None)]
    assert len(logged) == 1 and logged[0].levelname == "ERROR" and logged[0].case_id == case["id"]

    listed = client.get("/api/v1/incidents", headers=people.auth("ops")).json
    assert listed["total"] == 1
    incident = listed["items"][0]
    assert incident["kind"] == "timer" and incident["instance_id"] == case["id"]
    assert "division by zero" in incident["error"] and incident["element_id"]
    assert client.get("/api/v1/incidents", headers=people.auth("clerk")).status_code == 403

    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'tongban_incidents{kind="timer"} 1.0' in metrics
    assert 'tongban_cases{state="error"} 1.0' in metrics
    assert "tongban_http_requests_total" in metrics and "tongban_scheduler_lag_seconds" in metrics

    retried = client.post(f"/api/v1/incidents/{incident['id']}/retry", headers=people.auth("ops"))
    assert retried.status_code == 200 and retried.json["status"] == "retried"
    assert client.get("/api/v1/incidents", headers=people.auth("ops")).json["total"] == 0
    assert client.post(f"/api/v1/incidents/{incident['id']}/retry", headers=people.auth("ops")).status_code == 404


def test_resolving_a_failed_timer_closes_it_and_the_case_runs_on(client, people, clock, in_app):
    case = _incident(client, people, clock, in_app)
    incident = client.get("/api/v1/incidents", headers=people.auth("ops")).json["items"][0]
    assert client.post(f"/api/v1/incidents/{incident['id']}/resolve", json={"note": "x"},
                       headers=people.auth("clerk")).status_code == 403
    resolved = client.post(f"/api/v1/incidents/{incident['id']}/resolve", json={"note": "已人工处理"},
                           headers=people.auth("ops"))
    assert resolved.status_code == 200 and resolved.json["status"] == "resolved"
    assert client.get(f"/api/v1/instances/{case['id']}", headers=people.auth("clerk")).json["state"] == "running"
    states = client.get("/api/v1/timers", query_string={"state": "resolved"}, headers=people.auth("ops")).json
    assert states["total"] == 1
    audit = client.get(f"/api/v1/instances/{case['id']}/audit", headers=people.auth("clerk")).json["items"]
    assert audit[-1]["action"] == "incident.resolved" and audit[-1]["details"]["note"] == "已人工处理"


def test_a_stalled_case_is_an_incident_that_resolve_cancels(app, client, people):
    from app.extensions import db
    from app.instances.models import ProcessInstance
    from app.tasks.models import UserTask

    deploy(client, people, "two_step.bpmn")
    case = client.post("/api/v1/process-definitions/two_step/instances", json={}, headers=people.auth("clerk")).json
    # a case whose every way on is gone (what a broken engine state or a manual edit leaves behind)
    with app.app_context():
        db.session.execute(db.update(UserTask).where(UserTask.instance_id == case["id"]).values(state="cancelled"))
        db.session.commit()
    listed = client.get("/api/v1/incidents", query_string={"kind": "stalled"}, headers=people.auth("ops")).json
    assert [i["id"] for i in listed["items"]] == [f"stalled-{case['id']}"]
    assert client.post(f"/api/v1/incidents/stalled-{case['id']}/retry", headers=people.auth("ops")).status_code == 409
    done = client.post(f"/api/v1/incidents/stalled-{case['id']}/resolve", json={}, headers=people.auth("ops"))
    assert done.status_code == 200
    with app.app_context():
        assert db.session.get(ProcessInstance, case["id"]).state == "cancelled"


def test_metrics_count_open_tasks_by_post_and_cases(client, people):
    deploy(client, people, "two_step.bpmn")
    for _ in range(2):
        client.post("/api/v1/process-definitions/two_step/instances", json={}, headers=people.auth("clerk"))
    text = client.get("/metrics").get_data(as_text=True)
    assert 'tongban_open_tasks{post="测试受理岗"} 2.0' in text
    assert "tongban_cases_started_total 2.0" in text
    assert 'tongban_definition_versions{state="active"} 1.0' in text


def test_metrics_token_when_configured(client, app):
    app.config["METRICS_TOKEN"] = "secret"
    try:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer secret"}).status_code == 200
    finally:
        app.config["METRICS_TOKEN"] = None


def test_readyz_checks_database_migrations_and_scheduler(client, app):
    assert client.get("/healthz").json["status"] == "ok"
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.json
    assert ready.json["checks"] == {"database": "ok", "migrations": "ok", "scheduler": "off"}
    app.config["SCHEDULER_ENABLED"] = True
    try:
        not_ready = client.get("/readyz")
        assert not_ready.status_code == 503 and not_ready.json["checks"]["scheduler"] == "not running"
    finally:
        app.config["SCHEDULER_ENABLED"] = False


def test_request_id_is_echoed_and_logged_as_json(client, people):
    from pythonjsonlogger.json import JsonFormatter

    from app.ops.logs import ContextFilter

    answer = client.get("/api/v1/me", headers={**people.auth("clerk"), "X-Request-ID": "abc-123"})
    assert answer.headers["X-Request-ID"] == "abc-123"
    assert len(client.get("/healthz").headers["X-Request-ID"]) == 32
    record = logging.LogRecord("tongban.access", logging.INFO, __file__, 1, "GET /x 200", (), None)
    ContextFilter().filter(record)
    line = json.loads(JsonFormatter("%(time)s %(levelname)s %(name)s %(message)s %(request_id)s").format(record))
    assert line["time"].endswith("+08:00") and line["message"] == "GET /x 200"


def test_spiffworkflow_chatter_is_quiet_by_default(app):
    assert logging.getLogger("spiff.task").getEffectiveLevel() >= logging.WARNING
