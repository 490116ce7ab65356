"""A task whose form is a Camunda Form (form-js `.form`, made in form-js's editor): the task page renders it with
form-js's viewer; form-js checks its rules in the page, and the server checks them again on what arrives.

Screenshots: test-artifacts/web/formjs-*.png."""

from __future__ import annotations

import json
import re

from playwright.sync_api import expect

from app.extensions import db
from tests.conformance.conftest import DIAGRAMS
from tests.web.conftest import shot, sign_in

POST = "发改局受理A岗"


def _deploy_and_start(app) -> str:
    from app.definitions import flows
    from app.definitions import service as definitions
    from app.instances import service as instances

    diagram = (DIAGRAMS / "formjs_forms.bpmn").read_text(encoding="utf-8")
    for element in ("review_permit", "recheck", "latest_form", "paper_form"):
        diagram = diagram.replace(f'id="{element}"', f'id="{element}" camunda:candidateGroups="{POST}"')
    with app.app_context():
        flows.deploy([flows.Upload("formjs_forms.bpmn", diagram.encode()),
                      flows.Upload("permit-review.form", (DIAGRAMS / "permit-review.form").read_bytes())],
                     "system", source="api")
        instance, saved = instances.start(definitions.startable("conf_formjs"), {"applicant_name": "无锡某某餐饮有限公司"},
                                          None, "chenxiaodong")
        task_id = saved.new_tasks[0]["id"]
        db.session.remove()
    return task_id


def test_a_camunda_form_renders_with_form_js_and_is_checked_in_the_page_and_on_the_server(hall, new_page, artifacts):
    task_id = _deploy_and_start(hall)
    clerk = new_page()
    sign_in(clerk, "chenxiaodong")
    clerk.goto(f"/work/tasks/{task_id}")
    form = clerk.get_by_test_id("form-js")
    expect(form).to_have_class(re.compile("form-js-ready"))
    expect(form.get_by_label("审查意见")).to_be_visible()
    expect(form.get_by_label("申请人名称")).to_have_value("无锡某某餐饮有限公司")  # what the case already holds
    expect(form).to_contain_text("经营许可审查")
    expect(form.get_by_label("准予")).to_be_visible()
    shot(clerk, artifacts, "formjs-task-page")

    # form-js's own checks, in the page: nothing is sent
    clerk.click("[data-action=complete]")
    expect(form.locator(".fjs-form-field-error").first).to_be_visible()
    expect(clerk).to_have_url(re.compile(f"/work/tasks/{task_id}$"))
    shot(clerk, artifacts, "formjs-page-errors", full_page=True)

    # a client that skips form-js's checks: the server checks the same rules and lists what is wrong
    clerk.evaluate("""() => {
        const page = document.querySelector('form.form-js-task');
        page.querySelector('input[name=form_js_data]').value = JSON.stringify(
            {applicant_name: 'x', area: 20000, materials: [], decision: 'maybe', opinion: '短', originals_checked: false});
        page.submit();
    }""")
    errors = clerk.get_by_test_id("form-errors")
    expect(errors).to_contain_text("经营面积（平方米）不能大于 10000")
    expect(errors).to_contain_text("请勾选已核对原件")
    shot(clerk, artifacts, "formjs-server-errors", full_page=True)

    # filled in as a clerk does: it goes through, to the next step
    form = clerk.get_by_test_id("form-js")
    expect(form).to_have_class(re.compile("form-js-ready"))
    form.get_by_label("申请人名称").fill("无锡某某餐饮有限公司")
    form.get_by_label("经营面积（平方米）").fill("120")
    form.get_by_label("审查意见").fill("材料齐全，同意。")
    clerk.locator("h1").click()  # leaving the last field: form-js takes what was typed
    for label in ("申请书", "营业执照", "准予", "已核对原件"):
        form.get_by_label(label).check()
    shot(clerk, artifacts, "formjs-filled", full_page=True)
    clerk.click("[data-action=complete]")
    expect(clerk.locator(".flash")).to_contain_text("已办理「许可审查」")
    expect(clerk.locator("h1")).to_contain_text("复核")
    with hall.app_context():
        from app.tasks.models import TaskSubmission

        submitted = db.session.scalar(db.select(TaskSubmission).where(TaskSubmission.element_id == "review_permit"))
        assert submitted.data["area"] == 120 and submitted.data["materials"] == ["application", "license"]
        assert json.dumps(submitted.data, ensure_ascii=False).count("originals_checked") == 1
        db.session.remove()
