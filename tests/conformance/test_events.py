"""Event subprocesses and boundary events: message, signal, timer, error, escalation; interrupting or not."""

from __future__ import annotations


def test_non_interrupting_message_event_subprocess_runs_beside_the_main_path(bpmn):
    bpmn.deploy("event_subprocesses.bpmn")
    case = bpmn.start("conf_event_sub", business_key="EV-1")
    assert [t["element_id"] for t in case["tasks"]] == ["work"]
    assert bpmn.message("conf_extra_info", {"extra": "补充"}, business_key="EV-1")["delivered_to"] == [case["id"]]
    assert bpmn.open_elements(case["id"]) == ["read_extra", "work"]
    bpmn.complete(case["id"], "read_extra")
    bpmn.complete(case["id"], "work")
    assert bpmn.case(case["id"])["state"] == "completed"


def test_interrupting_timer_event_subprocess_ends_the_case(bpmn):
    bpmn.deploy("event_subprocesses.bpmn")
    case = bpmn.start("conf_event_sub")
    assert {t["element_id"] for t in bpmn.timers(case["id"])} == {"timeout_start"}
    bpmn.advance(hours=23)
    assert bpmn.open_elements(case["id"]) == ["work"]
    bpmn.advance(hours=2)
    done = bpmn.case(case["id"])
    assert done["state"] == "completed", done
    assert bpmn.open_elements(case["id"]) == []
    assert "timeout_end" in bpmn.steps(case["id"])


def test_escalation_and_error_event_subprocesses(bpmn):
    bpmn.deploy("event_subprocess_error.bpmn")
    passing = bpmn.start("conf_event_sub_error")
    bpmn.complete(passing["id"], "check", {"passed": True})
    assert bpmn.open_elements(passing["id"]) == ["read_notice"]  # non-interrupting: the main path went on
    bpmn.complete(passing["id"], "read_notice")
    assert bpmn.case(passing["id"])["state"] == "completed"

    failing = bpmn.start("conf_event_sub_error")
    bpmn.complete(failing["id"], "check", {"passed": False})
    assert "handle_reject" in bpmn.open_elements(failing["id"])
    for element in bpmn.open_elements(failing["id"]):
        bpmn.complete(failing["id"], element)
    done = bpmn.case(failing["id"])
    assert done["state"] == "completed" and "rejected" in bpmn.steps(failing["id"])


def test_signal_event_subprocess_is_broadcast(bpmn):
    bpmn.deploy("event_subprocess_error.bpmn")
    first = bpmn.start("conf_event_sub_error")
    second = bpmn.start("conf_event_sub_error")
    answer = bpmn.signal("conf_stop_all")
    assert sorted(answer["delivered_to"]) == sorted([first["id"], second["id"]])
    assert bpmn.case(first["id"])["state"] == "completed"
    assert bpmn.open_elements(second["id"]) == []


def test_boundary_timer_on_a_user_task_interrupts_it(bpmn):
    bpmn.deploy("boundary_events.bpmn")
    case = bpmn.start("conf_boundary")
    [task] = bpmn.tasks(case["id"])
    assert task["due_at"] is not None  # the boundary timer is the task's deadline
    bpmn.advance(hours=3)
    assert bpmn.open_elements(case["id"]) == ["escalated"]
    bpmn.complete(case["id"], "escalated")
    assert bpmn.case(case["id"])["state"] == "completed"


def test_non_interrupting_message_boundary_and_interrupting_signal_boundary(bpmn):
    bpmn.deploy("boundary_events.bpmn")
    case = bpmn.start("conf_boundary", business_key="BD-1")
    bpmn.message("conf_note", {"note": "请加急"}, business_key="BD-1")
    assert bpmn.open_elements(case["id"]) == ["read_note", "work"]
    bpmn.complete(case["id"], "read_note")
    bpmn.signal("conf_withdraw")
    assert bpmn.open_elements(case["id"]) == []
    done = bpmn.case(case["id"])
    assert done["state"] == "completed" and "end_withdrawn" in bpmn.steps(case["id"])
    assert bpmn.timers(case["id"]) == []  # the boundary timer went with the task


def test_error_boundary_on_a_subprocess_interrupts_it(bpmn):
    bpmn.deploy("boundary_subprocess.bpmn")
    case = bpmn.start("conf_boundary_sub")
    bpmn.complete(case["id"], "inspect", {"outcome": "missing"})
    assert bpmn.open_elements(case["id"]) == ["request_materials"]
    bpmn.complete(case["id"], "request_materials")
    assert bpmn.case(case["id"])["state"] == "completed"


def test_non_interrupting_escalation_boundary_on_a_subprocess(bpmn):
    bpmn.deploy("boundary_subprocess.bpmn")
    case = bpmn.start("conf_boundary_sub")
    bpmn.complete(case["id"], "inspect", {"outcome": "help"})
    assert bpmn.open_elements(case["id"]) == ["help", "reinspect"]
    bpmn.complete(case["id"], "help")
    bpmn.complete(case["id"], "reinspect")
    assert bpmn.case(case["id"])["state"] == "completed"


def test_parallel_and_sequential_multi_instance_user_tasks(bpmn):
    bpmn.deploy("multi_instance.bpmn")
    case = bpmn.start("conf_multi", {"reviewers": ["李", "王", "赵"]})
    tasks = bpmn.tasks(case["id"])
    assert [t["element_id"] for t in tasks] == ["review"] * 3  # one row for each instance
    for _ in range(3):
        bpmn.complete(case["id"], "review", {"opinion": "同意"})
    assert bpmn.open_elements(case["id"]) == ["sign"]  # sequential: one at a time
    bpmn.complete(case["id"], "sign")
    assert bpmn.open_elements(case["id"]) == ["sign"]
    bpmn.complete(case["id"], "sign")
    assert bpmn.case(case["id"])["state"] == "completed"


def test_multi_instance_over_a_bpmn_data_input_in_a_camunda_file(bpmn):
    """loopDataInputRef / inputDataItem as BPMN writes them, in a file of Camunda's dialect (SpiffWorkflow's
    Camunda parser knows only camunda:collection)."""
    bpmn.deploy("mi_data_input.bpmn")
    case = bpmn.start("conf_mi_data_input", {"parcels": ["A-01", "A-02"]})
    assert bpmn.open_elements(case["id"]) == ["survey", "survey"]
    bpmn.complete(case["id"], "survey", {"result": "合格"})
    bpmn.complete(case["id"], "survey", {"result": "需整改"})
    done = bpmn.case(case["id"])
    assert done["state"] == "completed" and sorted(done["data"]["results"]) == ["合格", "需整改"]
