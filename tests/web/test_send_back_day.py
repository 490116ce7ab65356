"""退回 and 撤回 in a clerk's day, in a real browser (Debian's chromium): the reviewer sends a case back from 审核 to
受理 with a reason (refused in place without one, the chosen step kept), the window clerk sees why and accepts
again, the reviewer reviews and takes the review back while the decision is unclaimed, and a take-back the
approver's claim overtook is refused in place with what was typed kept.

Screenshots at 1366×768: test-artifacts/web/back-*.png."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.web.conftest import USCC, shot, sign_in
from tests.web.test_window_day import receive

REASON = "申请表与营业执照上的企业名称不一致，请核对后重新受理"


def open_task(page, name: str) -> None:
    page.goto("/work")
    page.locator("[data-testid=tasks] tbody tr", has_text=name).get_by_role("link", name="办理").click()
    expect(page.locator("h1")).to_contain_text(name)


def claim_and_open(page, name: str) -> None:
    page.goto("/work")
    row = page.locator("[data-testid=tasks] tbody tr", has_text=name)
    row.locator("[data-action=claim]").click()
    expect(page.locator(".flash")).to_contain_text("已认领")
    open_task(page, name)


def review(page) -> None:
    page.fill("textarea[name='f.opinion']", "材料齐全，符合备案条件")
    page.select_option("select[name='f.recommendation']", "grant")
    page.click("[data-action=complete]")


def test_a_case_sent_back_from_review_to_acceptance_and_a_review_taken_back(hall, clock, new_page, artifacts):
    clerk = new_page()
    sign_in(clerk, "chenxiaodong")
    number = receive(clerk, name="无锡某某科技有限公司", id_type="uscc", id_number=USCC, phone="13812345678")
    expect(clerk.locator("h1")).to_contain_text("受理")
    clerk.select_option("select[name='f.outcome']", "accept")
    clerk.click("[data-action=complete]")
    expect(clerk.locator(".flash")).to_contain_text("下一步：审核（发改局审核岗）")

    clock.advance(minutes=20)  # the clerk's day goes on: each act at its own moment
    # the reviewer claims the review and sends it back: without a reason it is refused in place
    reviewer = new_page()
    sign_in(reviewer, "liuyang")
    claim_and_open(reviewer, "审核")
    form = reviewer.get_by_test_id("send-back")
    expect(form.locator("select[name=to] option")).to_have_text(["（请选择环节）", "受理（陈晓东）"])
    form.locator("select[name=to]").select_option("accept")
    form.locator("[data-action=send-back]").click()
    form = reviewer.get_by_test_id("send-back")
    expect(form.locator("[data-error-for=send-back]")).to_have_text("请填写退回理由")
    expect(form.locator("select[name=to]")).to_have_value("accept")
    expect(form.locator("textarea[name=reason]")).to_have_attribute("aria-invalid", "true")
    form.locator("textarea[name=reason]").fill(REASON)
    form.scroll_into_view_if_needed()
    shot(reviewer, artifacts, "back-01-send-back-form")
    form.locator("[data-action=send-back]").click()
    expect(reviewer.locator(".flash")).to_contain_text("已将办件退回至「受理」，由 陈晓东 办理")
    steps = reviewer.get_by_test_id("steps")
    expect(steps).to_contain_text("退回")
    expect(steps).to_contain_text(f"「审核」退回至「受理」：{REASON}")
    expect(steps).to_contain_text("当前环节：受理（发改局受理A岗 · 陈晓东）")

    clock.advance(minutes=15)
    # the window clerk finds the acceptance back in their work, with who sent it back and why
    open_task(clerk, "受理")
    returned = clerk.get_by_test_id("returned")
    expect(returned).to_contain_text("刘洋")
    expect(returned).to_contain_text("从「审核」退回")
    expect(clerk.get_by_test_id("returned-reason")).to_have_text(REASON)
    expect(clerk.get_by_test_id("clock")).to_contain_text("计时中")
    shot(clerk, artifacts, "back-02-returned-to-the-window")
    clerk.select_option("select[name='f.outcome']", "accept")
    clerk.click("[data-action=complete]")
    expect(clerk.locator(".flash")).to_contain_text("下一步：审核（发改局审核岗）")
    expect(clerk.get_by_test_id("documents").locator("tr[data-document=acceptance]")).to_have_count(1)

    clock.advance(minutes=30)
    # the reviewer reviews; the decision waits unclaimed at 发改局审批岗: the review may be taken back
    claim_and_open(reviewer, "审核")
    expect(reviewer.get_by_test_id("returned")).to_have_count(0)  # a new review, not a reopened one
    review(reviewer)
    expect(reviewer.locator(".flash")).to_contain_text("审批决定")
    offer = reviewer.get_by_test_id("take-back")
    expect(offer).to_contain_text("「审核」，下一环节还没有人认领")
    reviewer.goto("/work")
    done = reviewer.get_by_test_id("done").locator("tbody tr").first
    expect(done).to_contain_text("审核")
    expect(done).to_contain_text(number)
    expect(done.locator("[data-action=take-back]")).to_be_visible()
    shot(reviewer, artifacts, "back-03-my-done-work")
    clock.advance(minutes=5)
    done.get_by_role("link", name=number).click()
    reviewer.get_by_test_id("take-back").locator("input[name=reason]").fill("审核意见漏写了核查情况")
    reviewer.get_by_test_id("take-back").locator("[data-action=take-back]").click()
    expect(reviewer.locator(".flash")).to_contain_text("已撤回「审核」，请重新办理")
    expect(reviewer.locator("h1")).to_contain_text("审核")
    expect(reviewer.get_by_test_id("returned")).to_contain_text("已撤回")
    expect(reviewer.get_by_test_id("returned-reason")).to_have_text("审核意见漏写了核查情况")
    shot(reviewer, artifacts, "back-04-taken-back")

    clock.advance(minutes=10)
    # reviewed again; the approver claims the decision before the reviewer's take-back reaches the server
    review(reviewer)
    expect(reviewer.locator(".flash")).to_contain_text("审批决定")
    reviewer.get_by_test_id("take-back").locator("input[name=reason]").fill("还想再改一处")
    approver = new_page()
    sign_in(approver, "huangzhiming")
    claim_and_open(approver, "审批决定")
    reviewer.get_by_test_id("take-back").locator("[data-action=take-back]").click()
    refused = reviewer.get_by_test_id("take-back").locator("[data-error-for=take-back]")
    expect(refused).to_have_text("下一环节「审批决定」已被 黄志明 认领，不能撤回")
    expect(reviewer.get_by_test_id("take-back").locator("input[name=reason]")).to_have_value("还想再改一处")
    expect(reviewer.get_by_test_id("steps")).to_contain_text("撤回「审核」：审核意见漏写了核查情况")
    reviewer.get_by_test_id("take-back").scroll_into_view_if_needed()
    shot(reviewer, artifacts, "back-05-take-back-refused")
    assert re.fullmatch(r"32021300FG\d{12}", number)
