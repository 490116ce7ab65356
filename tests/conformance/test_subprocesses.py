"""Embedded subprocesses (nested) and call activities (same file, another file, Camunda's bindings)."""

from __future__ import annotations


def test_nested_embedded_subprocesses_list_each_task_once_and_run_to_the_end(bpmn):
    bpmn.deploy("embedded_subprocess.bpmn")
    case = bpmn.start("conf_embedded", {"applicant": "张三"})
    assert [t["element_id"] for t in case["tasks"]] == ["task_a"]
    assert bpmn.tasks(case["id"])[0]["post"] == "测试受理岗"
    bpmn.complete(case["id"], "task_a", {"a": 1})
    assert bpmn.open_elements(case["id"]) == ["task_b"]
    assert bpmn.tasks(case["id"])[0]["post"] == "测试审批岗"
    bpmn.complete(case["id"], "task_b", {"b": 2})
    assert bpmn.open_elements(case["id"]) == ["task_c"]
    bpmn.complete(case["id"], "task_c")
    done = bpmn.case(case["id"])
    assert done["state"] == "completed"
    assert done["data"]["a"] == 1 and done["data"]["b"] == 2 and done["data"]["applicant"] == "张三"


def test_call_activity_in_the_same_file_maps_variables_in_and_out(bpmn):
    deployed = bpmn.deploy("call_same_file.bpmn")
    assert {d["key"] for d in deployed["items"]} == {"conf_call_main", "conf_call_child"}
    case = bpmn.start("conf_call_main", {"amount": 21, "secret": "not passed"})
    assert [t["element_id"] for t in case["tasks"]] == ["child_review"]
    bpmn.complete(case["id"], "child_review", {"checked": True})
    assert bpmn.open_elements(case["id"]) == ["after"]
    bpmn.complete(case["id"], "after")
    done = bpmn.case(case["id"])
    assert done["state"] == "completed"
    assert done["data"]["result"] == 42
    assert "checked" not in done["data"]  # camunda:out maps only `result` back


def test_call_activity_to_another_file_resolves_at_call_time_in_either_order(bpmn):
    bpmn.deploy("call_caller.bpmn")  # the callee is not deployed yet: resolved when a case reaches the call
    early = bpmn.start("conf_caller", {"x": 1}, expect=422)
    assert early["code"] == "case_failed" and early["details"]["element"] == "call_latest"
    bpmn.deploy("call_callee.bpmn")
    v2 = (bpmn_dir := __import__("tests.conformance.conftest", fromlist=["DIAGRAMS"]).DIAGRAMS / "call_callee.bpmn"
          ).read_bytes().replace(b"callee_version = 1", b"callee_version = 2")
    response = bpmn.http.post(f"{bpmn.api}/process-definitions", files=[("file", ("call_callee.bpmn", v2))],
                              headers=bpmn.people.auth("analyst"))
    assert response.status_code == 201 and response.json()["items"][0]["version"] == 2, bpmn_dir
    case = bpmn.start("conf_caller", {"x": 1})
    assert [t["element_id"] for t in case["tasks"]] == ["callee_task"]
    bpmn.complete(case["id"], "callee_task")
    bpmn.complete(case["id"], "callee_task")  # the second call, pinned to version 1
    done = bpmn.case(case["id"])
    assert done["state"] == "completed", done
    assert (done["data"]["latest_version"], done["data"]["pinned_version"]) == (2, 1)


def test_a_process_calling_itself_without_end_is_refused_not_hung(bpmn):
    # refused when it is deployed (the call cycle, tests/guards), so no case can start it and hang
    refused = bpmn.deploy("call_itself.bpmn", expect=422)
    assert refused["code"] == "recursive_call" and refused["details"]["element"] == "again"
