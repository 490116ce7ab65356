"""Service tasks: external tasks done by workers through Camunda's REST API (`/engine-rest`), with the case
restored from the database between any two steps; a service task without an implementation refused at deploy."""

from __future__ import annotations

import threading
import time

import requests

TOPIC = "issue-licence"


class Worker:
    """A worker speaking Camunda's external task REST API with a worker's bearer token."""

    def __init__(self, bpmn, worker_id: str = "licence-worker") -> None:
        self.bpmn = bpmn
        self.base = bpmn.api.replace("/api/v1", "/engine-rest")
        self.worker_id = worker_id
        admin = bpmn.people.auth("admin")
        if not hasattr(bpmn, "worker_token"):
            created = requests.post(f"{bpmn.api}/users", headers=admin,
                                    json={"username": "licence_bot", "name": "电子证照接口", "roles": ["worker"]})
            assert created.status_code in (200, 201), created.text
            issued = requests.post(f"{bpmn.api}/users/licence_bot/tokens", headers=admin, json={})
            assert issued.status_code in (200, 201), issued.text
            bpmn.worker_token = issued.json()["token"]
        self.headers = {"Authorization": f"Bearer {bpmn.worker_token}"}

    def call(self, method: str, path: str, expect: int | tuple = (200, 204), **kwargs) -> requests.Response:
        from tests.conformance.conftest import forget_live_cases

        forget_live_cases(self.bpmn.app)
        response = requests.request(method, f"{self.base}{path}", headers=self.headers, timeout=30, **kwargs)
        expected = expect if isinstance(expect, tuple) else (expect,)
        assert response.status_code in expected, response.text
        return response

    def fetch(self, topic: str = TOPIC, max_tasks: int = 10, lock: int = 60_000, timeout: int = 0, **extra):
        body = {"workerId": self.worker_id, "maxTasks": max_tasks, "usePriority": True,
                "asyncResponseTimeout": timeout, "topics": [{"topicName": topic, "lockDuration": lock, **extra}]}
        return self.call("POST", "/external-task/fetchAndLock", json=body).json()

    def complete(self, task_id: str, variables: dict | None = None, expect=204, **extra):
        return self.call("POST", f"/external-task/{task_id}/complete", expect=expect,
                         json={"workerId": self.worker_id, "variables": variables or {}, **extra})


def test_an_external_service_task_waits_for_a_worker_and_takes_its_variables(bpmn):
    bpmn.deploy("external_task.bpmn")
    case = bpmn.start("conf_external", {"applicant": "某某公司", "licence_kind": "食品经营"}, business_key="EXT-1")
    assert bpmn.open_elements(case["id"]) == []  # not passed at once: waiting for a worker
    assert [(t["element_id"], t["topic"]) for t in case["external_tasks"]] == [("issue_licence", TOPIC)]
    shown = bpmn.case(case["id"])
    assert shown["state"] == "running"
    assert [(t["element_id"], t["worker_id"]) for t in shown["external_tasks"]] == [("issue_licence", None)]
    worker = Worker(bpmn)
    [task] = worker.fetch(variables=["applicant", "licence_kind", "missing"])
    assert task["activityId"] == "issue_licence" and task["topicName"] == TOPIC
    assert task["processInstanceId"] == case["id"] and task["businessKey"] == "EXT-1"
    assert task["processDefinitionKey"] == "conf_external" and task["priority"] == 5
    assert task["workerId"] == "licence-worker" and task["retries"] is None
    assert task["lockExpirationTime"].endswith("+0800")
    assert task["variables"] == {"applicant": {"type": "String", "value": "某某公司", "valueInfo": {}},
                                 "licence_kind": {"type": "String", "value": "食品经营", "valueInfo": {}}}
    assert worker.fetch() == []  # locked: no second worker gets it
    other = Worker(bpmn, "intruder")
    refused = other.complete(task["id"], expect=400)
    assert refused.json()["type"] == "InvalidRequestException" and "licence-worker" in refused.json()["message"]
    worker.complete(task["id"], {"licence_no": {"value": "JY13202110001", "type": "String"},
                                 "valid_years": {"value": 5, "type": "Integer"},
                                 "scope": {"value": '{"items": ["预包装食品"]}', "type": "Json"},
                                 "paid": {"value": True}})
    worker.complete(task["id"], expect=404)  # once only
    assert bpmn.open_elements(case["id"]) == ["deliver"]
    data = bpmn.case(case["id"])["data"]
    assert data["licence_no"] == "JY13202110001" and data["valid_years"] == 5
    assert data["scope"] == {"items": ["预包装食品"]} and data["paid"] is True
    bpmn.complete(case["id"], "deliver")
    assert bpmn.case(case["id"])["state"] == "completed"
    done = worker.call("GET", f"/external-task/{task['id']}").json()
    assert done["state"] == "completed"
    actions = [e["action"] for e in bpmn.audit(case["id"])]
    assert "external_task.completed" in actions


def test_a_bpmn_error_from_the_worker_is_caught_by_the_error_boundary_event(bpmn):
    bpmn.deploy("external_task.bpmn")
    case = bpmn.start("conf_external", {"applicant": "乙"})
    worker = Worker(bpmn)
    [task] = worker.fetch()
    worker.call("POST", f"/external-task/{task['id']}/bpmnError", expect=204, json={
        "workerId": worker.worker_id, "errorCode": "LICENCE_REFUSED", "errorMessage": "经营场所不符",
        "variables": {"refusal": {"value": "经营场所不符", "type": "String"}}})
    assert bpmn.open_elements(case["id"]) == ["handle_refusal"]
    assert bpmn.case(case["id"])["data"]["refusal"] == "经营场所不符"
    assert worker.call("GET", f"/external-task/{task['id']}").json()["state"] == "error"


def test_an_uncaught_bpmn_error_is_an_incident_and_the_case_stays_where_it_was(bpmn):
    bpmn.deploy("external_task.bpmn")
    case = bpmn.start("conf_external", {})
    worker = Worker(bpmn)
    [task] = worker.fetch()
    worker.call("POST", f"/external-task/{task['id']}/bpmnError", expect=204,
                json={"workerId": worker.worker_id, "errorCode": "NO_SUCH_CODE"})
    incidents = requests.get(f"{bpmn.api}/incidents", params={"instance": case["id"]},
                             headers=bpmn.people.auth("ops")).json()["items"]
    assert [(i["kind"], i["element_id"]) for i in incidents] == [("external_task", "issue_licence")]
    assert "NO_SUCH_CODE" in incidents[0]["error"]
    assert worker.fetch() == []  # no retries left: not fetched until ops act


def test_failures_count_down_retries_and_none_left_is_an_incident_ops_can_retry(bpmn):
    bpmn.deploy("external_task.bpmn")
    case = bpmn.start("conf_external", {})
    worker = Worker(bpmn)
    [task] = worker.fetch()
    worker.call("POST", f"/external-task/{task['id']}/failure", expect=204, json={
        "workerId": worker.worker_id, "errorMessage": "证照库超时", "errorDetails": "timeout after 30 s",
        "retries": 1, "retryTimeout": 60_000})
    assert worker.fetch() == []  # not before the retry timeout
    bpmn.clock.advance(seconds=61)
    [again] = worker.fetch()
    assert again["id"] == task["id"] and again["retries"] == 1
    assert again["errorMessage"] == "证照库超时" and again["errorDetails"] == "timeout after 30 s"
    worker.call("POST", f"/external-task/{task['id']}/failure", expect=204, json={
        "workerId": worker.worker_id, "errorMessage": "证照库拒绝连接", "retries": 0, "retryTimeout": 0})
    ops = bpmn.people.auth("ops")
    [incident] = requests.get(f"{bpmn.api}/incidents", params={"kind": "external_task"}, headers=ops).json()["items"]
    assert incident["instance_id"] == case["id"] and incident["error"] == "证照库拒绝连接"
    assert worker.call("GET", "/external-task/count", params={"noRetriesLeft": "true"}).json() == {"count": 1}
    metrics = requests.get(bpmn.api.replace("/api/v1", "/metrics")).text
    assert 'tongban_external_tasks{state="no_retries"} 1.0' in metrics
    assert 'tongban_incidents{kind="external_task"} 1.0' in metrics
    retried = requests.post(f"{bpmn.api}/incidents/{incident['id']}/retry", headers=ops)
    assert retried.status_code == 200, retried.text
    [third] = worker.fetch()
    worker.complete(third["id"], {"licence_no": {"value": "L-3", "type": "String"}})
    assert bpmn.open_elements(case["id"]) == ["deliver"]


def test_an_expired_lock_returns_the_task_to_the_queue_and_only_the_new_holder_completes_it(bpmn):
    bpmn.deploy("external_task.bpmn")
    bpmn.start("conf_external", {})
    first, second = Worker(bpmn, "first"), Worker(bpmn, "second")
    [task] = first.fetch(lock=10_000)
    first.call("POST", f"/external-task/{task['id']}/extendLock", expect=204,
               json={"workerId": "first", "newDuration": 20_000})
    bpmn.clock.advance(seconds=15)
    assert second.fetch() == []  # extended: still first's
    bpmn.clock.advance(seconds=10)
    [again] = second.fetch()
    assert again["id"] == task["id"] and again["workerId"] == "second"
    first.complete(task["id"], expect=400)
    first.call("POST", f"/external-task/{task['id']}/extendLock", expect=400,
               json={"workerId": "first", "newDuration": 1000})
    second.call("POST", f"/external-task/{task['id']}/unlock", expect=204)
    [third] = first.fetch()
    assert third["workerId"] == "first"
    first.complete(task["id"])
    second.complete(task["id"], expect=404)


def test_lists_and_filters(bpmn):
    bpmn.deploy("external_task.bpmn")
    one = bpmn.start("conf_external", {}, business_key="L-1")
    bpmn.start("conf_external", {}, business_key="L-2")
    pay = bpmn.start("conf_external_pay", {"fee": 20})
    worker = Worker(bpmn)
    [locked] = worker.fetch(max_tasks=1, businessKey="L-1")
    assert locked["processInstanceId"] == one["id"]
    listed = worker.call("GET", "/external-task", params={"topicName": TOPIC}).json()
    assert len(listed) == 2 and {t["businessKey"] for t in listed} == {"L-1", "L-2"}
    assert worker.call("GET", "/external-task/count", params={"locked": "true"}).json() == {"count": 1}
    assert worker.call("GET", "/external-task/count", params={"notLocked": "true"}).json() == {"count": 3}
    assert worker.call("GET", "/external-task", params={"workerId": "licence-worker"}).json()[0]["id"] == locked["id"]
    topics = {t["topicName"] for t in worker.call("GET", "/external-task",
                                                  params={"processInstanceId": pay["id"]}).json()}
    assert topics == {"collect-fee", "class:org.example.SmsDelegate"}
    worker.call("GET", "/external-task", params={"nonsense": "1"}, expect=400)
    missing = worker.call("GET", "/external-task/nope", expect=404).json()
    assert missing["type"] == "InvalidRequestException" and missing["code"] == "not_found"


def test_output_parameters_class_delegates_and_expressions(bpmn):
    bpmn.deploy("external_task.bpmn")
    case = bpmn.start("conf_external_pay", {"fee": 20})
    worker = Worker(bpmn)
    [fee] = worker.fetch(topic="collect-fee")
    worker.complete(fee["id"], {"paid": {"value": True, "type": "Boolean"}},
                    localVariables={"receipt_no": {"value": "R-88", "type": "String"},
                                    "scratch": {"value": "only local", "type": "String"}})
    assert bpmn.case(case["id"])["state"] == "running"  # the SMS delegate waits on its own topic
    [sms] = worker.fetch(topic="class:org.example.SmsDelegate")
    worker.complete(sms["id"])
    done = bpmn.case(case["id"])
    assert done["state"] == "completed"
    assert done["data"]["receipt"] == "R-88" and "scratch" not in done["data"] and done["data"]["total"] == 30


def test_bad_variables_are_refused_and_change_nothing(bpmn):
    bpmn.deploy("external_task.bpmn")
    case = bpmn.start("conf_external", {})
    worker = Worker(bpmn)
    [task] = worker.fetch()
    for bad in ({"n": {"value": "many", "type": "Integer"}}, {"n": {"value": 2 ** 40, "type": "Integer"}},
                {"j": {"value": "{not json", "type": "Json"}}, {"f": {"value": "AAAA", "type": "Bytes"}},
                {"x": {"value": 1, "type": "Quaternion"}}, {"s": "not typed"}):
        body = worker.complete(task["id"], bad, expect=422).json()
        assert body["type"] == "InvalidRequestException" and body["message"]
    assert bpmn.case(case["id"])["data"] == {}
    worker.call("POST", "/external-task/fetchAndLock", expect=422, json={"workerId": "w", "maxTasks": 1})
    worker.complete(task["id"])


def test_workers_need_the_worker_role(bpmn):
    bpmn.deploy("external_task.bpmn")
    bpmn.start("conf_external", {})
    base = bpmn.api.replace("/api/v1", "/engine-rest")
    body = {"workerId": "w", "maxTasks": 1, "topics": [{"topicName": TOPIC, "lockDuration": 1000}]}
    clerk = requests.post(f"{base}/external-task/fetchAndLock", json=body, headers=bpmn.people.auth("clerk"))
    assert clerk.status_code == 403 and clerk.json()["type"] == "AuthorizationException"
    anonymous = requests.post(f"{base}/external-task/fetchAndLock", json=body)
    assert anonymous.status_code == 401 and anonymous.json()["type"] == "AuthenticationException"
    worker = Worker(bpmn)
    basic = requests.post(f"{base}/external-task/fetchAndLock", json=body,
                          auth=("licence_bot", bpmn.worker_token))
    assert basic.status_code == 200 and len(basic.json()) == 1
    wrong_user = requests.post(f"{base}/external-task/fetchAndLock", json=body, auth=("admin", bpmn.worker_token))
    assert wrong_user.status_code == 401
    assert worker.call("GET", "/external-task").json()[0]["workerId"] == "w"


def test_long_polling_answers_when_a_task_arrives(bpmn):
    bpmn.deploy("external_task.bpmn")
    worker = Worker(bpmn)
    answers: list = []
    waiting = threading.Thread(target=lambda: answers.append(worker.fetch(timeout=20_000)))
    started = time.monotonic()
    waiting.start()
    time.sleep(0.3)  # let the fetch find nothing and wait (the case below wakes it)
    case = bpmn.start("conf_external", {"applicant": "丙"})
    waiting.join(timeout=25)
    assert answers and [t["processInstanceId"] for t in answers[0]] == [case["id"]]
    assert time.monotonic() - started < 10  # woken by the new task, not by the 20 s timeout
    assert worker.fetch(timeout=200) == []  # nothing more: answers empty after the timeout


def test_a_service_task_without_implementation_is_refused_at_deploy(bpmn):
    response = requests.post(f"{bpmn.api}/process-definitions", headers=bpmn.people.auth("analyst"), files=[
        ("file", ("service_without_implementation.bpmn",
                  (bpmn_path("service_without_implementation.bpmn")).read_bytes()))])
    assert response.status_code == 422, response.text
    details = response.json()["details"]
    assert details["file"] == "service_without_implementation.bpmn" and details["element"] == "issue"
    assert details["line"] == 6
    assert "camunda:type" in response.json()["message"]


def bpmn_path(name: str):
    from tests.conformance.conftest import DIAGRAMS

    return DIAGRAMS / name


def test_the_example_worker_with_camundas_client_issues_and_refuses(bpmn):
    from camunda.external_task.external_task_worker import ExternalTaskWorker

    from tools.external_worker import handle

    bpmn.deploy("external_task.bpmn")
    issued = bpmn.start("conf_external", {"applicant": "某某公司"}, business_key="W-1")
    refused = bpmn.start("conf_external", {})
    Worker(bpmn)  # creates the worker user and token
    client = ExternalTaskWorker("example", base_url=bpmn.api.replace("/api/v1", "/engine-rest"),
                                config={"auth_bearer": {"access_token": bpmn.worker_token}, "maxTasks": 10,
                                        "asyncResponseTimeout": 0})
    client.fetch_and_execute(TOPIC, handle)
    assert bpmn.case(issued["id"])["data"]["licence_no"].startswith("DZZZ-W-1-")
    assert bpmn.open_elements(issued["id"]) == ["deliver"]
    assert bpmn.open_elements(refused["id"]) == ["handle_refusal"]


def _js_client() -> str | None:
    """Camunda's JavaScript client, if installed (TONGBAN_JS_EXTERNAL_CLIENT or node_modules): its folder."""
    import os
    import shutil
    from pathlib import Path

    candidates = [os.environ.get("TONGBAN_JS_EXTERNAL_CLIENT", ""),
                  str(Path(__file__).resolve().parents[2] / "node_modules" / "camunda-external-task-client-js")]
    found = next((c for c in candidates if c and (Path(c) / "index.js").exists()), None)
    return found if found and shutil.which("node") else None


def test_camundas_javascript_client_completes_tasks_with_basic_auth(bpmn):
    import json
    import subprocess
    from pathlib import Path

    import pytest

    client = _js_client()
    if client is None:
        pytest.skip("camunda-external-task-client-js not installed (npm i camunda-external-task-client-js; "
                    "TONGBAN_JS_EXTERNAL_CLIENT=<its folder>)")
    bpmn.deploy("external_task.bpmn")
    cases = [bpmn.start("conf_external", {"applicant": name}) for name in ("甲", "乙")]
    Worker(bpmn)
    run = subprocess.run(["node", str(Path(__file__).with_name("js_worker.mjs")), client,
                          bpmn.api.replace("/api/v1", "/engine-rest"), "licence_bot", bpmn.worker_token,
                          TOPIC, "2"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    assert json.loads(run.stdout.strip().splitlines()[-1]) == {"done": 2, "failures": []}
    for case, name in zip(cases, ("甲", "乙"), strict=True):
        data = bpmn.case(case["id"])["data"]
        assert data["licence_no"] == f"JS-{name}" and data["meta"] == {"by": "js", "steps": [1, 2]}
        assert bpmn.open_elements(case["id"]) == ["deliver"]


def test_a_boundary_timer_takes_the_task_from_its_worker_and_a_cancelled_case_takes_it_from_the_queue(bpmn):
    bpmn.deploy("external_task.bpmn")
    case = bpmn.start("conf_external", {})
    assert [t["element_id"] for t in bpmn.timers(case["id"])] == ["issue_timeout"]
    worker = Worker(bpmn)
    [task] = worker.fetch()
    bpmn.advance(hours=1, minutes=1)
    assert bpmn.open_elements(case["id"]) == ["issue_by_hand"]
    worker.complete(task["id"], expect=404)  # the case went on without it
    assert worker.call("GET", f"/external-task/{task['id']}").json()["state"] == "cancelled"
    other = bpmn.start("conf_external", {})
    cancelled = requests.post(f"{bpmn.api}/instances/{other['id']}/cancel", json={"reason": "申请人撤回"},
                              headers=bpmn.people.auth("admin"))
    assert cancelled.status_code == 200, cancelled.text
    assert worker.fetch() == []
    assert worker.call("GET", "/external-task/count", params={"processInstanceId": other["id"]}).json() == {"count": 0}


def test_a_suspended_case_keeps_its_task_from_workers(bpmn):
    bpmn.deploy("external_task.bpmn")
    case = bpmn.start("conf_external", {})
    ops = bpmn.people.auth("ops")
    suspended = requests.post(f"{bpmn.api}/process-definitions/conf_external/suspend", headers=ops,
                              json={"reason": "证照库维护", "include_instances": True})
    assert suspended.status_code == 200, suspended.text
    worker = Worker(bpmn)
    assert worker.fetch() == []
    [listed] = worker.call("GET", "/external-task", params={"processInstanceId": case["id"]}).json()
    assert listed["suspended"] is True
    activated = requests.post(f"{bpmn.api}/process-definitions/conf_external/activate", headers=ops,
                              json={"include_instances": True})
    assert activated.status_code == 200, activated.text
    [task] = worker.fetch()
    worker.complete(task["id"])
    assert bpmn.open_elements(case["id"]) == ["deliver"]


def test_a_case_waiting_for_a_worker_migrates_to_a_new_version(bpmn):
    bpmn.deploy("external_task.bpmn")
    case = bpmn.start("conf_external", {})
    worker = Worker(bpmn)
    [task] = worker.fetch()
    v2 = bpmn_path("external_task.bpmn").read_text(encoding="utf-8").replace('name="签发电子证照"', 'name="签发证照（新版）"')
    deployed = requests.post(f"{bpmn.api}/process-definitions", headers=bpmn.people.auth("analyst"),
                             files=[("file", ("external_task.bpmn", v2.encode()))])
    assert deployed.status_code in (200, 201), deployed.text
    migrated = requests.post(f"{bpmn.api}/process-definitions/conf_external/migrations",
                             headers=bpmn.people.auth("ops"), json={"from_version": 1, "to_version": 2})
    assert migrated.status_code == 200, migrated.text
    assert migrated.json()["summary"]["migrated"] == 1, migrated.json()
    worker.complete(task["id"], {"licence_no": {"value": "V2", "type": "String"}})
    assert bpmn.open_elements(case["id"]) == ["deliver"]


def test_a_service_expression_that_does_not_compile_is_refused_at_deploy(bpmn):
    text = bpmn_path("external_task.bpmn").read_text(encoding="utf-8").replace("${fee + 10}", "${fee +* 10}")
    response = requests.post(f"{bpmn.api}/process-definitions", headers=bpmn.people.auth("analyst"),
                             files=[("file", ("external_task.bpmn", text.encode()))])
    assert response.status_code == 422, response.text
    assert response.json()["details"]["element"] == "compute"


def test_the_audit_trail_has_the_workers_step_when_it_is_done_not_when_it_starts(bpmn):
    bpmn.deploy("external_task.bpmn")
    case = bpmn.start("conf_external", {})
    assert "issue_licence" not in bpmn.steps(case["id"])
    worker = Worker(bpmn)
    [task] = worker.fetch()
    worker.complete(task["id"])
    [done] = [e for e in bpmn.audit(case["id"]) if e["action"] == "external_task.completed"]
    assert done["element_id"] is None or done["details"]["element"] == "issue_licence"
    assert done["actor"] == "licence_bot" and done["details"]["worker_id"] == "licence-worker"


def test_each_instance_of_a_multi_instance_service_task_is_a_task_with_its_item_and_input_parameters(bpmn):
    bpmn.deploy("external_task.bpmn")
    recipients = [{"name": "甲", "phone": "13800000001"}, {"name": "乙", "phone": "13800000002"}]
    case = bpmn.start("conf_external_each", {"recipients": recipients, "note": "已受理"})
    worker = Worker(bpmn)
    tasks = worker.fetch(topic="notify", localVariables=True)
    assert sorted(t["variables"]["to"]["value"] for t in tasks) == ["13800000001", "13800000002"]
    assert all(set(t["variables"]) == {"recipient", "channel", "to"} for t in tasks)
    assert all(t["variables"]["channel"] == {"type": "String", "value": "sms", "valueInfo": {}} for t in tasks)
    worker.call("POST", f"/external-task/{tasks[0]['id']}/unlock", expect=204)
    [again] = worker.fetch(topic="notify")  # all the case's variables too
    assert again["variables"]["note"]["value"] == "已受理" and again["variables"]["recipient"]["type"] == "Json"
    worker.complete(again["id"])
    assert bpmn.case(case["id"])["state"] == "running"
    worker.complete(tasks[1]["id"])
    assert bpmn.case(case["id"])["state"] == "completed"
