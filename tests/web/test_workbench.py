"""A whole case through the pages in a real browser, and an analyst deploying a changed diagram in the modeler.

Screenshots of each page: test-artifacts/web/*.png (see tests/web/conftest.py)."""

from __future__ import annotations

import re

from openpyxl import load_workbook
from playwright.sync_api import expect

from tests.web.conftest import USCC, fill_applicant, shot, sign_in

KEY = "matter_32021300FG_BA_0001"
CODE = "32021300FG-BA-0001"


def test_a_case_through_the_pages(hall, new_page, artifacts):
    # a window clerk signs in: their start page is their work
    clerk = new_page()
    sign_in(clerk, "chenxiaodong")
    expect(clerk).to_have_url(re.compile(r"/work$"))
    expect(clerk.get_by_test_id("me")).to_contain_text("陈晓东")
    shot(clerk, artifacts, "01-my-work-empty")

    # starting a case at the window: the matter from the catalog, the applicant, the materials received
    clerk.get_by_test_id("start-case").click()
    clerk.get_by_test_id("matter-search").fill("企业投资项目备案")
    clerk.get_by_test_id("matter-search").press("Enter")
    clerk.get_by_role("link", name="企业投资项目备案").click()
    fill_applicant(clerk, name="无锡某某科技有限公司", id_type="uscc", id_number=USCC, phone="13812345678")
    for i in range(4):
        clerk.check(f"input[name='material.{i}']")
    shot(clerk, artifacts, "02-start-case")
    clerk.click("[data-action=receive]")
    # the case number and the applicant's query code, shown this once (the receipt carries them)
    number = clerk.get_by_test_id("case-number").inner_text()
    code = clerk.get_by_test_id("query-code").inner_text()
    assert re.fullmatch(r"32021300FG2026112500\d\d", number), number
    assert re.fullmatch(r"[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{2}", code), code
    shot(clerk, artifacts, "02-received-query-code")

    # the acceptance task opens with the checklist prefilled; a supplement without the missing materials is refused
    expect(clerk.locator("h1")).to_contain_text("受理")
    clerk.select_option("select[name='f.outcome']", "supplement")
    clerk.click("[data-action=complete]")
    error = clerk.locator("[data-error-for=missing_materials]")
    expect(error).to_contain_text("请列明需补正的材料")  # the form's own message (errorMessage), in place
    expect(clerk.locator("textarea[name='f.missing_materials']")).to_have_attribute("aria-invalid", "true")
    shot(clerk, artifacts, "03-task-field-error", full_page=True)

    # accepted: the review goes to 发改局审核岗 (not this clerk's post): the case page shows the next step
    clerk.select_option("select[name='f.outcome']", "accept")
    clerk.click("[data-action=complete]")
    expect(clerk.locator(".flash")).to_contain_text("下一步：审核（发改局审核岗）")
    expect(clerk.get_by_test_id("steps")).to_contain_text("受理")
    # the notices issued so far, each downloadable as PDF through the case's own access check
    documents = clerk.get_by_test_id("documents")
    expect(documents.locator("tr[data-document=receipt]")).to_contain_text("收件凭证")
    expect(documents.locator("tr[data-document=acceptance]")).to_contain_text("受理通知书")
    expect(documents.locator("tr[data-document=acceptance]")).to_contain_text("2026-11-25")
    with clerk.expect_download() as download:
        documents.locator("tr[data-document=acceptance] [data-action=download]").click()
    assert download.value.path().read_bytes().startswith(b"%PDF")
    assert download.value.suggested_filename == f"{number}-acceptance-2.pdf"
    shot(clerk, artifacts, "04-case-after-acceptance", full_page=True)

    # a second clerk (the reviewer) finds it in their work, claims it and reviews
    reviewer = new_page()
    sign_in(reviewer, "liuyang")
    row = reviewer.locator("[data-testid=tasks] tbody tr", has_text="审核")
    expect(row).to_contain_text("无锡某某科技有限公司")
    expect(row).to_contain_text("企业投资项目备案")
    shot(reviewer, artifacts, "05-my-work")
    row.locator("[data-action=claim]").click()
    expect(reviewer.locator(".flash")).to_contain_text("已认领")
    reviewer.locator("[data-testid=tasks] tbody tr", has_text="审核").get_by_role("link", name="办理").click()
    expect(reviewer.get_by_test_id("steps")).to_contain_text("受理")
    reviewer.fill("textarea[name='f.opinion']", "材料齐全，符合备案条件")
    reviewer.select_option("select[name='f.recommendation']", "grant")
    shot(reviewer, artifacts, "05-review-task", full_page=True)
    reviewer.click("[data-action=complete]")
    expect(reviewer.locator(".flash")).to_contain_text("审批决定")

    # the approver decides
    approver = new_page()
    sign_in(approver, "huangzhiming")
    approver.locator("[data-testid=tasks] tbody tr", has_text="审批决定").get_by_role("link", name="办理").click()
    expect(approver.get_by_test_id("steps")).to_contain_text("材料齐全，符合备案条件")
    approver.select_option("select[name='f.decision']", "grant")
    approver.click("[data-action=complete]")
    expect(approver.locator(".flash")).to_contain_text("送达")

    # back at the window: the owner (首问负责制) delivers, the case ends
    clerk.goto("/work")
    clerk.locator("[data-testid=tasks] tbody tr", has_text="送达").get_by_role("link", name="办理").click()
    clerk.select_option("select[name='f.method']", index=1)
    clerk.click("[data-action=complete]")
    expect(clerk.locator(".flash")).to_contain_text("办件已办结")
    expect(clerk.get_by_test_id("clock")).to_contain_text("按时办结")

    # the case on its diagram: the path taken is marked
    clerk.get_by_role("link", name=re.compile("查看流程图")).click()
    expect(clerk.locator("#canvas[data-ready=true]")).to_be_visible()
    assert clerk.locator(".djs-element.path-taken").count() >= 4
    shot(clerk, artifacts, "06-process-with-case", full_page=True)

    # the department's supervisor sees it in the statistics
    supervisor = new_page(1280, 800)
    sign_in(supervisor, "zhaolixin")
    expect(supervisor).to_have_url(re.compile(r"/board$"))
    expect(supervisor.locator("[data-figure=received]")).to_have_text("1")
    expect(supervisor.locator("[data-figure=completed]")).to_have_text("1")
    expect(supervisor.locator("[data-department=fgj]")).to_contain_text("100.0")
    expect(supervisor.locator(f"[data-matter='{CODE}']")).to_contain_text("企业投资项目备案")
    supervisor.wait_for_function("document.querySelectorAll('#chart-daily canvas').length > 0")
    shot(supervisor, artifacts, "07-board", full_page=True)
    # per clerk: the window clerk received and accepted it, the reviewer and the approver did a step each
    clerks = supervisor.get_by_test_id("clerks")
    expect(clerks.locator("[data-clerk=chenxiaodong]")).to_contain_text("陈晓东")
    expect(clerks.locator("[data-clerk=liuyang] td").nth(5)).to_have_text("1")
    supervisor.wait_for_function("document.querySelectorAll('#chart-clerks canvas').length > 0")
    with supervisor.expect_download() as download:
        supervisor.click("[data-export=departments]")
    text = download.value.path().read_text(encoding="utf-8-sig")
    assert "区发改局" in text and text.splitlines()[0].startswith("部门编码,部门,收件")
    with supervisor.expect_download() as download:
        supervisor.click("[data-export-xlsx=all]")
    assert download.value.suggested_filename.endswith(".xlsx")
    with download.value.path().open("rb") as handle:  # Playwright keeps it without the file's extension
        book = load_workbook(handle)
    assert book.sheetnames == ["部门", "窗口", "事项", "人员", "提速"]  # 提速: the speed-up across record versions
    clerk_rows = {r[0]: r for r in book["人员"].iter_rows(values_only=True)}
    assert clerk_rows["用户名"][:2] == ("用户名", "姓名") and clerk_rows["chenxiaodong"][1] == "陈晓东"
    assert clerk_rows["chenxiaodong"][5] == 1  # 收件

    # the applicant asks for the progress with the receipt's case number and query code: no personal data
    public = new_page(1280, 800)
    public.goto("/guide")
    public.get_by_role("link", name="办件进度查询").click()
    public.fill("#case_number", number)
    public.fill("#query_code", "WRNG-CDE2-34")
    public.click("[data-action=lookup]")
    expect(public.get_by_test_id("status-error")).to_have_text("办件编号或查询码不正确，请核对收件凭证后重新输入")
    public.fill("#query_code", code.lower())
    public.click("[data-action=lookup]")
    result = public.get_by_test_id("status-result")
    expect(result.locator("[data-status=matter]")).to_have_text("企业投资项目备案")
    expect(result.locator("[data-status=status]")).to_contain_text("已办结")
    expect(result.locator("[data-status=received_on]")).to_have_text("2026-11-25")
    expect(result.get_by_test_id("status-notices")).to_contain_text("受理通知书")
    assert "无锡某某科技有限公司" not in public.content() and "13812345678" not in public.content()
    shot(public, artifacts, "12-guide-status")


def test_an_analyst_deploys_a_changed_diagram(hall, new_page, artifacts):
    analyst = new_page(1280, 800)
    sign_in(analyst, "youjia")
    expect(analyst).to_have_url(re.compile(r"/processes$"))
    shot(analyst, artifacts, "08-processes")
    analyst.locator(f"tr[data-key={KEY}]").get_by_role("link", name="建模").click()
    expect(analyst.locator("#canvas[data-ready=true]")).to_be_visible()

    # select the review task: the properties panel knows the Camunda extensions (formKey)
    analyst.locator(".djs-element[data-element-id=review]").click()
    expect(analyst.locator("#properties")).to_contain_text("审核")
    # in Chinese: the panel's groups and the diagram tools' titles
    expect(analyst.locator("#properties")).to_contain_text("常规")
    expect(analyst.locator("#properties")).to_contain_text("任务分配")
    expect(analyst.locator("#properties")).not_to_contain_text("General")
    # rename it on the canvas (direct editing), as an analyst would
    analyst.locator(".djs-element[data-element-id=review]").dblclick()
    editor = analyst.locator(".djs-direct-editing-parent")
    expect(editor).to_be_visible()
    analyst.keyboard.press("Control+A")
    analyst.keyboard.type("初审")
    analyst.keyboard.press("Enter")  # ends direct editing
    expect(analyst.locator(".djs-element[data-element-id=review]")).to_contain_text("初审")
    analyst.click("[data-action=check]")
    expect(analyst.get_by_test_id("check-result")).to_contain_text("服务器校验通过")
    expect(analyst.get_by_test_id("results")).to_contain_text("bpmnlint")
    shot(analyst, artifacts, "09-modeler-checked")
    analyst.fill("#changelog", "审核改称初审")
    analyst.click("[data-action=deploy]")
    expect(analyst.get_by_test_id("deploy-result")).to_contain_text("已部署为 v2")
    shot(analyst, artifacts, "10-modeler-deployed")

    # the new version, with its diff against v1
    analyst.goto(f"/processes/{KEY}?version=2&from=1&to=2")
    expect(analyst.get_by_test_id("diff")).to_contain_text("初审")
    expect(analyst.get_by_test_id("versions")).to_contain_text("审核改称初审")


def test_the_public_guide(hall, new_page, artifacts):
    page = new_page()
    page.goto("/guide")
    page.get_by_test_id("guide-search").fill("备案")
    page.get_by_test_id("guide-search").press("Enter")
    page.get_by_role("link", name="企业投资项目备案").click()
    disclosures = page.get_by_test_id("disclosures")
    for heading in ("办事主体", "办理程序", "办理依据", "申报材料", "承诺时限", "收费依据", "收费标准", "办理结果", "受理条件"):
        expect(disclosures).to_contain_text(heading)
    expect(page.get_by_test_id("materials")).to_contain_text("企业投资项目备案申请表")
    shot(page, artifacts, "11-guide-matter", full_page=True)


def test_no_page_of_a_window_scrolls_sideways_at_1366(scene, new_page):
    """At a window's 1366×768 nothing sticks out to the right (a hidden file input once made the task page 2204
    px wide)."""
    page = new_page()
    sign_in(page, "chenxiaodong")
    for path in (f"/cases/{scene['case']}", f"/work/tasks/{scene['task']}", "/work", "/cases", "/guide"):
        page.goto(path)
        assert page.evaluate("document.documentElement.scrollWidth") <= 1366, path
