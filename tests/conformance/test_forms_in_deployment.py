"""Forms that come with the diagram: Camunda Forms (form-js `.form`, made in form-js's editor: see
tools/formjs_editor.py and permit-review.recipe.json), checked by the server against their JSON Schema, in the
version their binding names; embedded HTML forms, deployed with a warning and not checked (the task says so)."""

from __future__ import annotations

import json

from tests.conformance.conftest import DIAGRAMS

GOOD = {"applicant_name": "无锡某某餐饮有限公司", "credit_code": "91320200MA1P8K2T0A", "contact_email": "ban@example.cn",
        "area": 120, "street": "guangyi", "materials": ["application", "license"], "risks": ["food"],
        "inspected_on": "2026-11-24", "decision": "grant", "opinion": "材料齐全，同意。", "originals_checked": True}
BAD = {"applicant_name": "", "credit_code": "abc", "contact_email": "not-an-email", "area": 20000,
       "street": "nowhere", "materials": [], "decision": "maybe", "opinion": "短", "originals_checked": False,
       "inspected_on": "2026-13-45"}


def _detail(bpmn, case_id: str, element: str) -> dict:
    [task] = [t for t in bpmn.tasks(case_id) if t["element_id"] == element]
    return bpmn.http.get(f"{bpmn.api}/tasks/{task['id']}", headers=bpmn._headers("admin")).json()


def _deploy(bpmn) -> dict:
    return bpmn.deploy("formjs_forms.bpmn", "permit-review.form", "paper-form.html")


def test_a_form_js_form_deploys_with_the_diagram_and_says_what_it_is(bpmn):
    answer = _deploy(bpmn)
    [form] = [f["form"] for f in answer["files"] if f["file"] == "permit-review.form"]
    assert form["keys"] == ["permit-review.form", "permit_review"] and form["version"] == 1
    codes = {(w["code"], w.get("element")) for w in answer["warnings"]}
    assert ("embedded_form", "paper_form") in codes and ("embedded_form", None) in codes  # the task and the file
    case = bpmn.start("conf_formjs")
    task = _detail(bpmn, case["id"], "review_permit")
    assert task["form_kind"] == "form_js" and task["form_validated"] and task["form_version"] == 1
    assert task["form"]["x-form-js"]["id"] == "permit_review"  # the document form-js renders on the task page
    assert task["form"]["properties"]["decision"]["enum"] == ["grant", "refuse", "supplement"]


def test_the_server_checks_every_form_js_rule(bpmn):
    _deploy(bpmn)
    case = bpmn.start("conf_formjs")
    refused = bpmn.complete(case["id"], "review_permit", BAD, expect=422)
    errors = {e["field"]: e["message"] for e in refused["details"]["errors"]}
    assert set(errors) == {"applicant_name", "credit_code", "contact_email", "area", "street", "materials",
                           "decision", "opinion", "originals_checked", "inspected_on"}
    assert errors["area"] == "经营面积（平方米）不能大于 10000"
    assert errors["originals_checked"] == "请勾选已核对原件"
    assert errors["decision"].startswith("审查结论应为以下之一：准予（grant）")
    missing = bpmn.complete(case["id"], "review_permit", {}, expect=422)
    assert {e["field"] for e in missing["details"]["errors"]} == {
        "applicant_name", "area", "materials", "decision", "opinion", "originals_checked"}
    assert bpmn.open_elements(case["id"]) == ["review_permit"]
    bpmn.complete(case["id"], "review_permit", GOOD)
    bpmn.complete(case["id"], "recheck", {**GOOD, "opinion": "短"}, expect=422)  # by file name, same form
    bpmn.complete(case["id"], "recheck", GOOD)
    assert bpmn.open_elements(case["id"]) == ["latest_form"]


def test_an_embedded_html_form_runs_without_server_validation_and_says_so(bpmn):
    _deploy(bpmn)
    case = bpmn.start("conf_formjs")
    for element in ("review_permit", "recheck", "latest_form"):
        bpmn.complete(case["id"], element, GOOD)
    task = _detail(bpmn, case["id"], "paper_form")
    assert task["form_kind"] == "embedded" and task["form_validated"] is False and task["form"] is None
    assert "嵌入式 HTML 表单" in task["form_note"] and "embedded:app:forms/paper-form.html" in task["form_note"]
    bpmn.complete(case["id"], "paper_form", {"pages": "十二", "anything": [1, 2]})
    assert bpmn.case(case["id"])["state"] == "completed"


def test_each_task_uses_the_version_its_binding_names(bpmn):
    _deploy(bpmn)
    bpmn.deploy("formjs_forms.bpmn")  # the same diagram again: no new version
    case = bpmn.start("conf_formjs")
    pinned = bpmn.start("conf_formjs_pinned")
    document = json.loads((DIAGRAMS / "permit-review.form").read_text(encoding="utf-8"))
    for component in document["components"]:
        if component.get("key") == "opinion":
            component["validate"] = {}
    document["components"].append({"type": "textfield", "key": "inspector", "label": "核查人",
                                   "validate": {"required": True}, "id": "Field_inspector"})
    bpmn.clock.advance(minutes=5)  # a later deployment
    response = bpmn.http.post(f"{bpmn.api}/process-definitions", headers=bpmn._headers("analyst"),
                              files=[("file", ("permit-review.form", json.dumps(document).encode()))])
    assert response.status_code == 201, response.text
    without_opinion = {k: v for k, v in GOOD.items() if k != "opinion"}
    # deployment binding: the version deployed with the diagram (opinion required, no inspector)
    refused = bpmn.complete(case["id"], "review_permit", without_opinion, expect=422)
    assert [e["field"] for e in refused["details"]["errors"]] == ["opinion"]
    assert _detail(bpmn, case["id"], "review_permit")["form_version"] == 1
    bpmn.complete(case["id"], "review_permit", GOOD)
    bpmn.complete(case["id"], "recheck", GOOD)
    # latest binding: version 2 (inspector required, opinion not)
    refused = bpmn.complete(case["id"], "latest_form", GOOD, expect=422)
    assert [e["field"] for e in refused["details"]["errors"]] == ["inspector"]
    bpmn.complete(case["id"], "latest_form", {**without_opinion, "inspector": "张"})
    # version binding: version 1, whatever is deployed since
    bpmn.complete(pinned["id"], "pinned_review", without_opinion, expect=422)
    bpmn.complete(pinned["id"], "pinned_review", GOOD)
    assert bpmn.case(pinned["id"])["state"] == "completed"


def test_a_form_reference_to_nothing_is_refused_at_deploy(bpmn):
    refused = bpmn.deploy("formjs_forms.bpmn", expect=422)  # its .form not deployed, nor in the upload
    assert refused["details"]["form_key"] in ("permit_review", "permit-review.form")
    text = (DIAGRAMS / "formjs_forms.bpmn").read_text(encoding="utf-8").replace(
        'camunda:formRefVersion="1"', 'camunda:formRefVersion="7"')
    files = [("file", ("pinned.bpmn", text.encode())),
             ("file", ("permit-review.form", (DIAGRAMS / "permit-review.form").read_bytes()))]
    response = bpmn.http.post(f"{bpmn.api}/process-definitions", files=files, headers=bpmn._headers("analyst"))
    assert response.status_code == 422 and response.json()["details"]["form_version"] == 7
