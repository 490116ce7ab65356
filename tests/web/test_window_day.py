"""A window clerk's day in a real browser (Debian's chromium): receive a case with the full applicant record (and
be refused a bad ID in place), meet a returning applicant in the applicant library, find cases by applicant and ID
after they end, withdraw one received in error, attach a scanned material, comment.

Screenshots at 1366×768: test-artifacts/web/day-*.png."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.web.conftest import USCC, fill_applicant, shot, sign_in

AGENT_ID = "320211198503151232"
PERSON_ID = "320202197206110046"
MATTER = "企业投资项目备案"


def open_matter(page) -> None:
    page.goto("/work/start?matter=32021300FG-BA-0001")
    expect(page.locator("h2", has_text="申请人与材料")).to_be_visible()


def receive(page, **applicant) -> str:
    """Receive a case of the matter with every required material; its case number."""
    open_matter(page)
    fill_applicant(page, **applicant)
    for i in range(4):
        page.check(f"input[name='material.{i}']")
    page.click("[data-action=receive]")
    return page.get_by_test_id("case-number").inner_text()


def test_receiving_a_full_applicant_and_a_refused_id(hall, new_page, artifacts):
    clerk = new_page()
    sign_in(clerk, "chenxiaodong")
    open_matter(clerk)
    # a 统一社会信用代码 with a wrong check character is refused in place, with the API's message; nothing typed is lost
    fill_applicant(clerk, name="无锡某某科技有限公司", id_type="uscc", id_number=USCC[:-1] + "B", phone="0510-85231234",
                   address="无锡市某区某路 8 号", legal_representative="张三",
                   agent={"name": "李四", "id_type": "resident_id", "id_number": AGENT_ID, "phone": "13900001111"})
    clerk.check("input[name='material.0']")
    clerk.click("[data-action=receive]")
    error = clerk.locator("[data-error-for='applicant.id_number']")
    expect(error).to_have_text("统一社会信用代码应为 18 位且校验正确")
    expect(clerk.locator("input[name='applicant.id_number']")).to_have_attribute("aria-invalid", "true")
    expect(clerk.locator("input[name='applicant.address']")).to_have_value("无锡市某区某路 8 号")
    expect(clerk.locator("input[name='applicant.agent.id_number']")).to_have_value(AGENT_ID)
    expect(clerk.locator("input[name='material.0']")).to_be_checked()
    shot(clerk, artifacts, "day-01-intake-refused-id", full_page=True)

    # corrected: received, with the applicant, legal representative and agent recorded
    clerk.fill("input[name='applicant.id_number']", USCC)
    for i in range(4):
        clerk.check(f"input[name='material.{i}']")
    clerk.click("[data-action=receive]")
    number = clerk.get_by_test_id("case-number").inner_text()
    assert re.fullmatch(r"32021300FG\d{12}", number)
    case = clerk.get_by_test_id("case")
    expect(case.get_by_test_id("applicant")).to_contain_text("无锡某某科技有限公司")
    expect(case).to_contain_text("统一社会信用代码")
    expect(case).to_contain_text(USCC)
    expect(case).to_contain_text("李四")

    # a returning applicant: typing the ID number offers the record kept at the first intake
    open_matter(clerk)
    clerk.fill("input[name='applicant.id_number']", USCC[:8])
    offer = clerk.get_by_test_id("library").locator("[data-action=use-applicant]").first
    expect(offer).to_contain_text("无锡某某科技有限公司")
    shot(clerk, artifacts, "day-02-applicant-library")
    offer.click()
    expect(clerk.locator("input[name='applicant.name']")).to_have_value("无锡某某科技有限公司")
    expect(clerk.locator("input[name='applicant.phone']")).to_have_value("0510-85231234")
    expect(clerk.locator("input[name='applicant.legal_representative']")).to_have_value("张三")
    expect(clerk.locator("input[name='applicant.agent.name']")).to_have_value("李四")


def test_a_person_applies_in_person(hall, new_page):
    clerk = new_page()
    sign_in(clerk, "chenxiaodong")
    open_matter(clerk)
    clerk.select_option("select[name='applicant.kind']", "person")
    # a person has no legal representative, and the ID types are a person's
    expect(clerk.locator("input[name='applicant.legal_representative']")).to_be_hidden()
    options = clerk.locator("select[name='applicant.id_type'] optgroup[data-kind=organisation]")
    expect(options).to_be_hidden()
    number = receive(clerk, kind="person", name="王五", id_type="resident_id", id_number=PERSON_ID,
                     phone="13812345678")
    assert number.startswith("32021300FG")
