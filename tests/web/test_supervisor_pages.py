"""A department's supervisor at work in a real browser: closing a warning on the board, 延期 and 改派 on the case
page — and the server's Chinese refusal shown next to the form it came from. Screenshots: test-artifacts/web/."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

from app.extensions import db
from tests.web.conftest import shot, sign_in


@pytest.fixture()
def warned(hall, scene):
    """The scene's case with an open yellow warning of 发改局, and 吴倩 (a clerk of its window post) away today."""
    from app.clock import now
    from app.hall.supervision.models import SupervisionWarning
    from app.people import absences

    with hall.app_context():
        warning = SupervisionWarning(instance_id=scene["case"], kind="case_yellow", level="yellow",
                                     department_code="fgj", post="发改局督查岗", message="办件将于 2026-11-30 到期，请督促办理",
                                     raised_at=now(), state="open")
        db.session.add(warning)
        db.session.commit()
        absences.create_absence("wuqian", dt.date(2026, 11, 25), dt.date(2026, 11, 27), "外出培训", "zhaolixin")
        scene = {**scene, "warning": warning.id}
        db.session.remove()
    return scene


def test_a_supervisor_closes_a_warning_extends_and_reassigns(warned, new_page, artifacts):
    boss = new_page(1280, 800)
    sign_in(boss, "zhaolixin")
    row = boss.locator(f"[data-warning='{warned['warning']}']")
    expect(row).to_contain_text("办件将于 2026-11-30 到期")

    expect(row).to_contain_text(warned["case_number"])
    # closing without a note: the server's message, right under the warning
    closing = boss.locator(f"#close-{warned['warning']}")
    expect(closing).to_be_hidden()
    row.locator("[data-action=open-close]").click()
    closing.locator("[data-action=close-warning]").click()
    closing = boss.locator(f"#close-{warned['warning']}")
    expect(closing.locator(f"[data-error-for='warning-{warned['warning']}']")).to_have_text("请填写处理说明（2000字以内）")
    expect(closing.locator("textarea[name=note]")).to_have_attribute("aria-invalid", "true")
    shot(boss, artifacts, "13-board-close-refused")
    closing.locator("textarea[name=note]").fill("已电话督促承办人，今日办结")
    closing.locator("[data-action=close-warning]").click()
    expect(boss.locator(".flash")).to_contain_text("预警已关闭")
    expect(boss.get_by_test_id("warnings")).to_contain_text("没有未关闭的预警")

    # the case page: 延期 with a reason, approved by the department's head (负责人岗)
    head = new_page(1280, 800)
    sign_in(head, "liguohua")
    head.goto(f"/cases/{warned['case']}")
    supervise = head.get_by_test_id("supervise")
    expect(supervise).to_contain_text("延期")
    supervise.locator("#extend-reason").fill("需现场核查项目用地情况")
    supervise.locator("[data-action=extend]").click()
    expect(head.locator(".flash")).to_contain_text("已延期 10 个工作日，新的到期日为 2026-12-14")
    expect(head.get_by_test_id("clock")).to_contain_text("2026-12-14")
    expect(head.get_by_test_id("extend")).to_contain_text("已延期 10 个工作日")

    # the supervisor, who may not approve a 延期, sees its new due date and goes on with 改派
    boss.goto(f"/cases/{warned['case']}")
    expect(boss.get_by_test_id("clock")).to_contain_text("2026-12-14")
    expect(boss.get_by_test_id("extend")).to_have_count(0)

    # 改派 to a clerk who is away today: refused by the service, in place, with the choice kept
    form = boss.locator(f"form.reassign-form[data-task='{warned['task']}']")
    form.locator("select[name=to]").select_option("user:wuqian")
    form.locator("input[name=reason]").fill("陈晓东窗口排队较多")
    form.locator("[data-action=reassign]").click()
    form = boss.locator(f"form.reassign-form[data-task='{warned['task']}']")
    expect(form.locator(f"[data-error-for='reassign-{warned['task']}']")).to_have_text(
        "吴倩（wuqian）今天请假，不能改派给他/她")
    expect(form.locator("select[name=to]")).to_have_value("user:wuqian")
    expect(form.locator("input[name=reason]")).to_have_value("陈晓东窗口排队较多")
    shot(boss, artifacts, "14-case-supervise-refused", full_page=True)

    # to the backup post instead: it waits there unclaimed, and the steps show the 改派
    form.locator("select[name=to]").select_option("post:发改局受理B岗")
    form.locator("[data-action=reassign]").click()
    expect(boss.locator(".flash")).to_contain_text("已将「受理」改派到岗位「发改局受理B岗」，待认领")
    expect(boss.get_by_test_id("steps")).to_contain_text("改派")
    expect(boss.get_by_test_id("steps")).to_contain_text("当前环节：受理（发改局受理B岗）")
    shot(boss, artifacts, "15-case-supervised", full_page=True)

    # the window clerk sees the case without the supervisor's forms, at 1366×768
    clerk = new_page()
    sign_in(clerk, "chenxiaodong")
    clerk.goto(f"/cases/{warned['case']}")
    expect(clerk.get_by_test_id("documents")).to_contain_text("收件凭证")
    expect(clerk.get_by_test_id("supervise")).to_have_count(0)


def test_the_board_and_the_status_page_at_both_sizes(warned, new_page, artifacts):
    """Nothing overflows sideways at 1280×800 or 1366×768: the board with its clerk table, the status page."""
    for width, height in ((1280, 800), (1366, 768)):
        boss = new_page(width, height)
        sign_in(boss, "zhaolixin")
        expect(boss.get_by_test_id("clerks")).to_contain_text("陈晓东")
        assert boss.evaluate("document.documentElement.scrollWidth") <= width
        public = new_page(width, height)
        public.goto("/guide/status")
        public.fill("#case_number", warned["case_number"])
        public.fill("#query_code", warned["query_code"])
        public.click("[data-action=lookup]")
        expect(public.get_by_test_id("status-result")).to_contain_text("已收件，待受理审查")
        expect(public.locator("[data-status=current_steps]")).to_have_text("受理")
        assert public.evaluate("document.documentElement.scrollWidth") <= width
        if width == 1366:
            shot(public, artifacts, "16-guide-status-1366")
