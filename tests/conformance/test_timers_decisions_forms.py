"""Timers as the tools write them, decisions in another deployment, forms only where the diagram names one."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.conformance.conftest import DIAGRAMS


def test_expression_timers_read_case_data_and_a_quartz_cron_cycle_fires_on_weekday_mornings(bpmn):
    bpmn.deploy("timers.bpmn")
    # Wednesday 2026-11-25 09:00 in Shanghai; wait 30 minutes, then until Friday 08:00 Shanghai time
    case = bpmn.start("conf_timers", {"reminder": "PT30M", "due": "2026-11-27T08:00:00"})
    [timer] = bpmn.timers(case["id"])
    assert timer["element_id"] == "wait_expr" and timer["due_at"].startswith("2026-11-25T09:30")
    bpmn.advance(minutes=31)
    [timer] = bpmn.timers(case["id"])
    assert timer["element_id"] == "wait_date" and timer["due_at"].startswith("2026-11-27T08:00")
    bpmn.clock.set(datetime(2026, 11, 27, 0, 1, tzinfo=UTC))
    bpmn.advance(seconds=0)
    assert bpmn.open_elements(case["id"]) == ["work"]
    [cron] = bpmn.timers(case["id"])
    assert cron["element_id"] == "every_morning" and cron["due_at"].startswith("2026-11-27T09:00")
    bpmn.advance(hours=1)  # 09:01 Friday: the reminder fires and the cycle moves to Monday
    [cron] = bpmn.timers(case["id"])
    assert cron["due_at"].startswith("2026-11-30T09:00"), cron
    assert "remind" in bpmn.steps(case["id"])
    bpmn.complete(case["id"], "work")
    assert bpmn.case(case["id"])["state"] == "completed"
    assert bpmn.timers(case["id"]) == []


def test_a_timer_expression_that_cannot_be_evaluated_fails_the_case_not_the_server(bpmn):
    bpmn.deploy("timers.bpmn")
    failed = bpmn.start("conf_timers", {"reminder": 42}, expect=422)
    assert failed["code"] == "case_failed" and failed["details"]["element"] == "wait_expr"
    assert bpmn.http.get(f"{bpmn.api.rsplit('/api', 1)[0]}/healthz").status_code == 200


def test_cron_on_a_duration_and_a_bad_cron_are_refused_at_deploy(bpmn):
    text = (DIAGRAMS / "timers.bpmn").read_text(encoding="utf-8")
    bad = text.replace("0 0 9 ? * MON-FRI", "0 0 99 ? * MON-FRI")
    response = bpmn.http.post(f"{bpmn.api}/process-definitions", files=[("file", ("bad.bpmn", bad.encode()))],
                              headers=bpmn._headers("analyst"))
    assert response.status_code == 422 and response.json()["details"]["element"] == "every_morning"


def test_business_rule_task_calls_a_decision_deployed_earlier(bpmn):
    bpmn.deploy("conf_fee.dmn")
    bpmn.deploy("decision.bpmn")
    small = bpmn.start("conf_decision", {"area": 50})
    assert bpmn.case(small["id"])["data"]["fee"] == "小额"
    large = bpmn.start("conf_decision", {"area": 500})
    assert bpmn.case(large["id"])["data"]["fee"] == "大额"


def test_business_rule_task_written_with_spiffworkflow_extensions(bpmn):
    bpmn.deploy("conf_fee.dmn")
    bpmn.deploy("spiff_decision.bpmn")
    case = bpmn.start("conf_spiff_decision", {"area": 500})
    done = bpmn.case(case["id"])
    assert done["state"] == "completed" and done["data"]["fee"] == "大额"


def test_a_decision_deployed_after_the_diagram_is_found_when_a_case_reaches_it(bpmn):
    """Like a called process: a warning at deploy, resolved at call time, an incident naming it while missing."""
    answer = bpmn.deploy("decision_late.bpmn")
    [warning] = answer["warnings"]
    assert warning["code"] == "resolved_at_call_time" and warning["decision"] == "conf_fee_level"
    assert warning["element"] == "grade" and warning["line"]
    case = bpmn.start("conf_decision_late")
    refused = bpmn.complete(case["id"], "measure", {"area": 500}, expect=422)
    assert refused["code"] == "decision_not_deployed" and "conf_fee_level" in refused["message"]
    assert refused["details"]["decision"] == "conf_fee_level" and refused["details"]["element"] == "grade"
    assert bpmn.open_elements(case["id"]) == ["measure"]  # the case did not move
    assert "area" not in bpmn.case(case["id"])["data"]
    headers = bpmn._headers("admin")
    [incident] = bpmn.http.get(f"{bpmn.api}/incidents", params={"instance": case["id"]}, headers=headers).json()["items"]
    assert incident["code"] == "decision_not_deployed" and incident["name"] == "conf_fee_level"
    assert incident["element_id"] == "grade" and incident["id"] == refused["details"]["incident_id"]

    bpmn.deploy("conf_fee.dmn")
    bpmn.complete(case["id"], "measure", {"area": 500})
    assert bpmn.open_elements(case["id"]) == ["collect"]
    assert bpmn.case(case["id"])["data"]["fee"] == "大额"
    assert bpmn.http.get(f"{bpmn.api}/incidents", params={"instance": case["id"]}, headers=headers).json()["items"] == []


def test_a_case_that_starts_at_a_missing_decision_is_refused_naming_it(bpmn):
    answer = bpmn.deploy("decision.bpmn")
    assert [w["decision"] for w in answer["warnings"]] == ["conf_fee_level"]
    refused = bpmn.start("conf_decision", {"area": 50}, expect=422)
    assert refused["code"] == "decision_not_deployed" and refused["details"]["decision"] == "conf_fee_level"
    headers = bpmn._headers("admin")
    incidents = bpmn.http.get(f"{bpmn.api}/incidents", params={"kind": "refused_step"}, headers=headers).json()
    [incident] = [i for i in incidents["items"] if i["process_key"] == "conf_decision"]
    assert incident["instance_id"] is None and incident["name"] == "conf_fee_level"
    resolved = bpmn.http.post(f"{bpmn.api}/incidents/{incident['id']}/resolve", json={"note": "决策已部署"},
                              headers=headers)
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved"
    bpmn.deploy("conf_fee.dmn")
    assert bpmn.case(bpmn.start("conf_decision", {"area": 50})["id"])["data"]["fee"] == "小额"


def test_a_task_without_form_key_takes_any_data_and_a_missing_form_is_refused(bpmn):
    bpmn.deploy("embedded_subprocess.bpmn")
    case = bpmn.start("conf_embedded")
    # tasks named like the hall's forms (accept, review...) get no form they did not ask for
    bpmn.complete(case["id"], "task_a", {"anything": {"nested": [1, 2]}, "outcome": "whatever"})
    named = (DIAGRAMS / "embedded_subprocess.bpmn").read_text(encoding="utf-8").replace(
        'name="收尾"/>', 'name="收尾" camunda:formKey="no_such_form"/>')
    assert "no_such_form" in named
    response = bpmn.http.post(f"{bpmn.api}/process-definitions", files=[("file", ("named.bpmn", named.encode()))],
                              headers=bpmn._headers("analyst"))
    assert response.status_code == 422, response.text
    details = response.json()["details"]
    assert (details["file"], details["element"], details["form_key"]) == ("named.bpmn", "task_c", "no_such_form")
    form = b'{"type": "object", "required": ["ok"], "properties": {"ok": {"type": "boolean", "title": "\xe7\xa1\xae\xe8\xae\xa4"}}}'
    response = bpmn.http.post(f"{bpmn.api}/process-definitions",
                              files=[("file", ("named.bpmn", named.encode())), ("file", ("no_such_form.json", form))],
                              headers=bpmn._headers("analyst"))
    assert response.status_code == 201, response.text  # the form came in the same upload


def test_compensation_is_refused_at_deploy_with_the_reason(bpmn):
    answer = bpmn.deploy("compensation.bpmn", expect=422)
    assert "补偿" in answer["message"] and answer["details"]["element"] == "undo_pay"


def test_a_working_day_timer_set_on_a_friday_does_not_run_over_the_weekend(bpmn):
    text = (DIAGRAMS / "boundary_events.bpmn").read_text(encoding="utf-8")
    working = text.replace('<bpmn:boundaryEvent id="overdue" name="超时" attachedToRef="work">',
                           '<bpmn:boundaryEvent id="overdue" name="超时" attachedToRef="work"><bpmn:extensionElements>'
                           '<camunda:properties><camunda:property name="tongban.calendar" value="working_days"/>'
                           '</camunda:properties></bpmn:extensionElements>').replace(">PT2H<", ">P2D<")
    assert "tongban.calendar" in working and ">P2D<" in working
    response = bpmn.http.post(f"{bpmn.api}/process-definitions", files=[("file", ("wd.bpmn", working.encode()))],
                              headers=bpmn._headers("analyst"))
    assert response.status_code == 201, response.text
    bpmn.clock.set(datetime(2026, 11, 27, 7, 0, tzinfo=UTC))  # Friday 15:00 in Shanghai
    case = bpmn.start("conf_boundary")
    [timer] = bpmn.timers(case["id"])
    assert timer["due_at"] == "2026-12-01T17:00:00+08:00"  # Tuesday at the office's close, not Sunday
    bpmn.advance(days=2, hours=1)  # Sunday: nothing fires
    assert bpmn.open_elements(case["id"]) == ["work"]
    bpmn.advance(days=2)  # Tuesday 16:00: still office time
    assert bpmn.open_elements(case["id"]) == ["work"]
    bpmn.advance(hours=1, minutes=1)  # Tuesday 17:01
    assert bpmn.open_elements(case["id"]) == ["escalated"]
