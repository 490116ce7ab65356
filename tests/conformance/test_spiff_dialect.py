"""SpiffWorkflow's own dialect, as spiff-arena's analysts draw it: a file with SpiffWorkflow's extensions (and none
of Camunda's) goes through SpiffWorkflow's Spiff parser, extended. One test per construct; every step restores
its case from the database."""

from __future__ import annotations

from datetime import datetime

from tests.conformance.conftest import DIAGRAMS


def _task(bpmn, case_id: str, element: str) -> dict:
    [task] = [t for t in bpmn.tasks(case_id) if t["element_id"] == element][:1]
    response = bpmn.http.get(f"{bpmn.api}/tasks/{task['id']}", headers=bpmn._headers("admin"))
    assert response.status_code == 200, response.text
    return response.json()


def _deploy_dialect(bpmn) -> dict:
    return bpmn.deploy("spiff_dialect.bpmn", "spiff-sign-schema.json", "spiff-sign-uischema.json")


def test_multi_instance_over_a_data_input_collects_each_output_in_order(bpmn):
    _deploy_dialect(bpmn)
    case = bpmn.start("spiff_review", {"applicant": "某公司", "reviewers": ["李审查", "王审查", "赵审查"]})
    tasks = bpmn.tasks(case["id"])
    assert [t["element_id"] for t in tasks] == ["review"] * 3  # one task for each item of the input collection
    instructions = sorted(_task(bpmn, case["id"], "review")["instructions"] for _ in range(1))
    assert instructions[0].startswith("请就 某公司 的申请出具意见（审查人：")
    details = [bpmn.http.get(f"{bpmn.api}/tasks/{t['id']}", headers=bpmn._headers("admin")).json()
               for t in tasks]
    by_reviewer = {d["instructions"].split("审查人：")[1].rstrip("）。"): d["id"] for d in details}
    assert sorted(by_reviewer) == ["李审查", "王审查", "赵审查"]
    refused = bpmn.http.post(f"{bpmn.api}/tasks/{by_reviewer['王审查']}/complete", json={"data": {}},
                             headers=bpmn._headers("admin"))
    assert refused.status_code == 422 and refused.json()["code"] == "case_failed"  # no output item given
    for reviewer, opinion in (("赵审查", "同意"), ("李审查", "同意"), ("王审查", "不同意")):
        answer = bpmn.http.post(f"{bpmn.api}/tasks/{by_reviewer[reviewer]}/complete",
                                json={"data": {"opinion": opinion}}, headers=bpmn._headers("admin"))
        assert answer.status_code == 200, answer.text
    data = bpmn.case(case["id"])["data"]
    assert data["opinions"] == ["同意", "同意", "不同意"]  # SpiffWorkflow collects them as they are given
    assert data["agreed"] == 2  # the multi-instance task's post-script, once all are done
    assert bpmn.open_elements(case["id"]) == ["sign"]
    refused = bpmn.start("spiff_review", {"applicant": "某公司"}, expect=422)  # no input collection: not a 500
    assert refused["code"] == "case_failed" and refused["details"]["element"] == "review"


def test_instructions_for_the_end_user_are_filled_from_the_data(bpmn):
    _deploy_dialect(bpmn)
    case = bpmn.start("spiff_review", {"applicant": "甲", "reviewers": ["李"]})
    bpmn.complete(case["id"], "review", {"opinion": "同意"})
    sign = _task(bpmn, case["id"], "sign")
    assert sign["instructions"] == "1 位审查人同意，请签发。"


def test_a_json_schema_form_beside_the_diagram_is_the_task_form_with_its_ui_schema(bpmn):
    answer = _deploy_dialect(bpmn)
    forms = {f["file"]: f["form"] for f in answer["files"] if f["kind"] == "form"}
    assert forms["spiff-sign-schema.json"]["key"] == "spiff-sign"
    case = bpmn.start("spiff_review", {"applicant": "乙", "reviewers": ["李"]})
    bpmn.complete(case["id"], "review", {"opinion": "同意"})
    sign = _task(bpmn, case["id"], "sign")
    assert sign["form_key"] == "spiff-sign" and sign["form_kind"] == "json_schema" and sign["form_validated"]
    assert sign["form"]["x-ui-schema"]["remark"] == {"ui:widget": "textarea"}
    refused = bpmn.complete(case["id"], "sign", {"decision": "也许"}, expect=422)
    assert refused["details"]["errors"][0]["field"] == "decision"
    bpmn.complete(case["id"], "sign", {"decision": "准予"})
    assert bpmn.case(case["id"])["state"] == "completed"
    lone = bpmn.deploy("spiff-sign-uischema.json", expect=422)
    assert "spiff-sign-schema.json" in lone["message"]


def test_pre_and_post_scripts_run_in_the_sandbox_around_the_task(bpmn):
    _deploy_dialect(bpmn)
    case = bpmn.start("spiff_scripts", {"area": 12, "area_note": "临时"})
    bpmn.complete(case["id"], "measure", {"extra": 5})
    data = bpmn.case(case["id"])["data"]
    assert data["fee"] == 120 and data["total"] == 125  # pre-script before the task, post-script after it
    assert "area_note" not in data

    failing = bpmn.start("spiff_scripts", {"area": "十二", "area_note": ""})  # the pre-script fails at the task
    assert failing["state"] == "running"  # it runs when the task is reached, not before the case starts
    refused = bpmn.complete(failing["id"], "measure", {"extra": 5}, expect=422)
    assert refused["code"] == "case_failed"

    text = (DIAGRAMS / "spiff_dialect.bpmn").read_text(encoding="utf-8")
    hostile = text.replace("fee = area * 10", "import os\nfee = os.getcwd()")
    response = bpmn.http.post(f"{bpmn.api}/process-definitions", files=[("file", ("hostile.bpmn", hostile.encode()))],
                              headers=bpmn._headers("analyst"))
    assert response.status_code == 422, response.text
    problem = response.json()["details"]
    assert problem["element"] == "measure" and problem["kind"] == "prescript"


def test_properties_are_the_elements_properties_a_working_day_timer(bpmn):
    _deploy_dialect(bpmn)
    case = bpmn.start("spiff_scripts", {"area": 1, "area_note": ""})  # Wednesday 09:00 in Shanghai
    bpmn.complete(case["id"], "measure", {"extra": 0})
    [timer] = bpmn.timers(case["id"])
    due = datetime.fromisoformat(timer["due_at"])
    assert (due.date().isoformat(), due.hour) == ("2026-11-27", 17)  # two working days: Friday, at the close
    bpmn.advance(days=2, hours=8, minutes=1)
    assert bpmn.case(case["id"])["state"] == "completed"

    text = (DIAGRAMS / "spiff_dialect.bpmn").read_text(encoding="utf-8")
    typo = text.replace('value="working_days"', 'value="workingdays"')
    response = bpmn.http.post(f"{bpmn.api}/process-definitions", files=[("file", ("typo.bpmn", typo.encode()))],
                              headers=bpmn._headers("analyst"))
    assert response.status_code == 422 and response.json()["code"] == "invalid_calendar"


def test_message_payloads_variables_and_correlation_reach_each_waiting_instance(bpmn):
    bpmn.deploy("spiff_messages.bpmn")
    case = bpmn.start("spiff_requester", {"items": [{"no": "Q-1", "subject": "消防"}, {"no": "Q-2", "subject": "环保"}]})
    listed = bpmn.http.get(f"{bpmn.api}/instances", params={"key": "spiff_responder"}, headers=bpmn._headers("admin"))
    responders = {bpmn.case(c["id"])["data"]["request"]["request_no"]: c["id"] for c in listed.json()["items"]}
    assert sorted(responders) == ["Q-1", "Q-2"]  # each item's message started its own responder case
    assert bpmn.case(responders["Q-2"])["data"]["request"] == {"request_no": "Q-2", "subject": "环保"}
    assert [m["name"] for m in bpmn.case(case["id"])["messages"]] == ["spiff_answer", "spiff_answer"]

    bpmn.complete(responders["Q-2"], "write_answer", {"text": "环保意见：同意"})  # the second item answers first
    waiting = bpmn.case(case["id"])
    assert [m["name"] for m in waiting["messages"]] == ["spiff_answer"] and bpmn.open_elements(case["id"]) == []
    bpmn.complete(responders["Q-1"], "write_answer", {"text": "消防意见：同意"})
    done = bpmn.case(case["id"])
    assert done["data"]["answers"] == [{"request_no": "Q-2", "text": "环保意见：同意"},  # as they arrived
                                       {"request_no": "Q-1", "text": "消防意见：同意"}]
    assert bpmn.open_elements(case["id"]) == ["read_answers"]


def test_multi_instance_over_a_data_object_one_at_a_time(bpmn):
    _deploy_dialect(bpmn)
    case = bpmn.start("spiff_data_object_review", {"departments": ["牵头部门", "消防", "环保"]})
    signed = []
    for expected in ("消防", "环保"):  # sequential: one instance at a time, in the data object's order
        [task] = bpmn.tasks(case["id"])
        detail = bpmn.http.get(f"{bpmn.api}/tasks/{task['id']}", headers=bpmn._headers("admin")).json()
        assert detail["element_id"] == "countersign" and detail["instructions"] == f"请{expected}会签"
        bpmn.complete(case["id"], "countersign", {"signature": f"{expected}：同意"})
        signed.append(f"{expected}：同意")
    done = bpmn.case(case["id"])
    assert done["state"] == "completed"
    assert done["data"]["signatures"] == signed
    assert done["data"]["data_objects"] == {"signers": ["消防", "环保"]}  # the data object, kept with the case


def test_process_variable_correlation_finds_the_case_from_its_own_data(bpmn):
    """SpiffWorkflow's processVariableCorrelation: the waiting case's key comes from its own data, no message
    before; the message's from its payload. No business key, no conversation between the two."""
    bpmn.deploy("spiff_process_correlation.bpmn")
    first = bpmn.start("spiff_applicant")["id"]
    second = bpmn.start("spiff_applicant")["id"]
    bpmn.complete(first, "apply", {"application_no": "SQ-1"})
    bpmn.complete(second, "apply", {"application_no": "SQ-2"})
    registry = bpmn.start("spiff_registry")["id"]
    bpmn.complete(registry, "register", {"for_application": "SQ-2", "certificate": "登字第2号"})
    assert bpmn.open_elements(second) == ["hand_over"]
    assert bpmn.case(second)["data"]["receipt"] == {"application_no": "SQ-2", "certificate": "登字第2号"}
    assert bpmn.open_elements(first) == [] and [m["name"] for m in bpmn.case(first)["messages"]] == ["spiff_receipt"]
    other = bpmn.start("spiff_registry")["id"]
    bpmn.complete(other, "register", {"for_application": "SQ-1", "certificate": "登字第1号"})
    assert bpmn.case(first)["data"]["receipt"]["certificate"] == "登字第1号"
