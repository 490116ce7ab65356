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


def open_case(page, number: str) -> None:
    """办件查询 by case number, then the case."""
    page.goto("/cases")
    page.fill("input[name=case_number]", number)
    page.click("[data-action=search]")
    page.get_by_test_id("found").get_by_role("link", name=number).click()
    expect(page.get_by_test_id("case")).to_contain_text(number)


def test_corrections_at_the_window(hall, new_page, artifacts):
    clerk = new_page()
    clerk.on("dialog", lambda dialog: dialog.accept())
    sign_in(clerk, "chenxiaodong")
    number = receive(clerk, name="无锡某某科技有限公司", id_type="uscc", id_number=USCC, phone="13812345678")
    open_case(clerk, number)
    actions = clerk.get_by_test_id("window-actions")

    # 更正申请人: a bad number is refused in place; corrected with a reason, it shows and the course says so
    actions.get_by_test_id("correct-applicant").locator("summary").click()
    form = actions.get_by_test_id("correct-applicant")
    form.locator("input[name='applicant.phone']").fill("12345")
    form.locator("[data-action=correct-applicant]").click()
    expect(clerk.locator("[data-error-for='applicant.phone']")).to_contain_text("联系电话应为")
    expect(clerk.locator("[data-error-for=applicant]")).to_be_visible()
    form = clerk.get_by_test_id("correct-applicant")
    form.locator("input[name='applicant.phone']").fill("0510-85230000")
    form.locator("input[name=reason]").fill("电话号码录入错误")
    shot(clerk, artifacts, "day-03-correct-applicant", full_page=True)
    form.locator("[data-action=correct-applicant]").click()
    expect(clerk.locator(".flash")).to_contain_text("申请人信息已更正")
    expect(clerk.get_by_test_id("case")).to_contain_text("0510-85230000")
    expect(clerk.get_by_test_id("steps")).to_contain_text("更正申请人")

    # a lost query code: a new one, shown once, with a new receipt to print
    clerk.get_by_test_id("reissue").locator("[data-action=reissue-query-code]").click()
    code = clerk.get_by_test_id("query-code").inner_text()
    assert re.fullmatch(r"[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{2}", code)
    expect(clerk.get_by_test_id("documents").locator("tr[data-document=receipt]")).to_have_count(2)

    # 撤件: no reason is refused in place; with one, the case ends and a 撤件登记 is issued
    withdraw = clerk.get_by_test_id("withdraw")
    withdraw.locator("input[name=requested_by]").fill("李四")
    withdraw.locator("[data-action=withdraw]").click()
    expect(clerk.locator("[data-error-for=withdraw]")).to_contain_text("请填写理由")
    expect(clerk.get_by_test_id("withdraw").locator("input[name=requested_by]")).to_have_value("李四")
    clerk.get_by_test_id("withdraw").locator("textarea[name=reason]").fill("申请人申请撤回，材料已当场退还")
    clerk.get_by_test_id("withdraw").locator("[data-action=withdraw]").click()
    expect(clerk.locator(".flash")).to_contain_text("已撤件")
    expect(clerk.get_by_test_id("case-state")).to_have_text("已撤件")
    expect(clerk.get_by_test_id("documents").locator("tr[data-document=withdrawal]")).to_contain_text("撤件登记")
    shot(clerk, artifacts, "day-04-withdrawn", full_page=True)
    # the withdrawn case is still found, with its state in words
    clerk.goto(f"/cases?case_number={number}")
    expect(clerk.get_by_test_id("found").get_by_test_id("state")).to_have_text("已撤件")


def test_attach_a_scanned_material_and_comment(hall, new_page, artifacts):
    from tests.web.conftest import SCANNED_PDF

    clerk = new_page()
    sign_in(clerk, "chenxiaodong")
    receive(clerk, name="无锡某某科技有限公司", id_type="uscc", id_number=USCC, phone="13812345678")
    expect(clerk.locator("h1")).to_contain_text("受理")  # the acceptance task, the case beside it
    files = clerk.get_by_test_id("attachments")
    # a text file renamed .pdf is refused by its content, in place
    files.locator("input[type=file]").set_input_files(
        files=[{"name": "营业执照.pdf", "mimeType": "application/pdf", "buffer": b"just text"}])
    files.locator("select[name=material]").select_option("营业执照")
    files.locator("[data-action=upload]").click()
    expect(clerk.locator("[data-error-for=attachment]")).to_contain_text("只接受 PDF、JPG、PNG、OFD")
    # the scanner's PDF is attached to the material
    files = clerk.get_by_test_id("attachments")
    files.locator("input[type=file]").set_input_files(
        files=[{"name": "营业执照.pdf", "mimeType": "application/pdf", "buffer": SCANNED_PDF}])
    files.locator("select[name=material]").select_option("营业执照")
    files.locator("[data-action=upload]").click()
    expect(clerk.locator(".flash")).to_contain_text("已上传「营业执照.pdf」（营业执照）")
    row = clerk.get_by_test_id("attachments").locator("tr[data-attachment]")
    expect(row).to_contain_text("营业执照")
    expect(row).to_contain_text("PDF")
    with clerk.expect_download() as download:
        row.locator("[data-action=download-attachment]").click()
    assert download.value.path().read_bytes() == SCANNED_PDF

    # a comment on this step, and the supervisor's reply in the same thread
    comments = clerk.get_by_test_id("comments")
    comments.locator("[data-action=comment]").click()
    expect(clerk.locator("[data-error-for=comment]")).to_contain_text("请填写意见内容")
    clerk.get_by_test_id("comments").locator("#comment-text").fill("营业执照复印件未加盖公章，已请申请人补盖")
    clerk.get_by_test_id("comments").locator("[data-action=comment]").click()
    expect(clerk.get_by_test_id("comments")).to_contain_text("陈晓东")
    expect(clerk.get_by_test_id("steps")).to_contain_text("上传附件")
    shot(clerk, artifacts, "day-05-attachments-comments", full_page=True)


def test_a_refused_case_is_found_by_applicant_and_id_after_it_ends(hall, new_page, artifacts):
    clerk = new_page()
    sign_in(clerk, "chenxiaodong")
    number = receive(clerk, kind="person", name="赵小燕", id_type="resident_id", id_number=PERSON_ID,
                     phone="13800001234")
    # refused at acceptance: the case ends with 不予受理
    clerk.select_option("select[name='f.outcome']", "not_accepted")
    clerk.fill("textarea[name='f.reasons']", "申请事项不属于本部门职权范围")
    clerk.click("[data-action=complete]")
    expect(clerk.locator("h1")).to_contain_text("不予受理")
    clerk.fill("textarea[name='f.reasons']", "申请事项不属于本部门职权范围")  # the notice's own words
    clerk.click("[data-action=complete]")
    expect(clerk.get_by_test_id("case-state")).to_have_text("已办结（不予受理）")
    # no English word anywhere on the finished case's page
    text = clerk.locator("main").inner_text()
    words = set(re.findall(r"[A-Za-z]{2,}", text)) - {"PDF", "FG", "BA", "KB", "MB", "JPG", "PNG", "OFD"}
    assert not words, words
    shot(clerk, artifacts, "day-06-finished-case", full_page=True)

    for field, value in (("applicant", "赵小"), ("id_number", PERSON_ID)):
        clerk.goto("/cases")
        clerk.fill(f"input[name={field}]", value)
        clerk.click("[data-action=search]")
        found = clerk.get_by_test_id("found").locator("tbody tr")
        expect(found).to_have_count(1)
        expect(found).to_contain_text(number)
        expect(found).to_contain_text("已办结（不予受理）")
    shot(clerk, artifacts, "day-07-case-search")


def test_a_supervisors_scoped_board_and_absences(hall, new_page, artifacts):
    boss = new_page()
    sign_in(boss, "zhaolixin")  # 发改局督查岗
    expect(boss.get_by_test_id("board-scope")).to_contain_text("发改局")
    expect(boss.get_by_test_id("departments").locator("tbody tr")).to_have_count(1)
    shot(boss, artifacts, "day-08-board-scoped")
    center = new_page()
    sign_in(center, "yanliqun")  # 中心督查: the whole center
    expect(center.get_by_test_id("board-scope")).to_contain_text("全中心")
    expect(center.get_by_test_id("departments").locator("tbody tr")).to_have_count(10)

    boss.get_by_role("link", name="请假与AB岗").click()
    form = boss.get_by_test_id("record-absence")
    # only the department's people are offered: 卫生局's clerk is not
    options = form.locator("select[name=username] option").all_inner_texts()
    assert "陈晓东" in options and "王芳" not in options
    form.locator("select[name=username]").select_option("chenxiaodong")
    form.locator("input[name=end]").fill("2026-11-20")  # before the start: refused in place
    form.locator("input[name=reason]").fill("病假")
    form.locator("[data-action=record-absence]").click()
    expect(boss.locator("[data-error-for=record]")).to_contain_text("结束日期不能早于开始日期")
    expect(boss.get_by_test_id("record-absence").locator("input[name=reason]")).to_have_value("病假")
    boss.get_by_test_id("record-absence").locator("input[name=end]").fill("2026-11-26")
    boss.get_by_test_id("record-absence").locator("[data-action=record-absence]").click()
    expect(boss.locator(".flash")).to_contain_text("已登记 陈晓东")
    row = boss.get_by_test_id("absences").locator("tbody tr", has_text="陈晓东")
    expect(row).to_contain_text("在假")
    shot(boss, artifacts, "day-09-absences")
    row.locator("[data-action=end-absence]").click()
    expect(boss.locator(".flash")).to_contain_text("请假已结束")


def _no_narrow_text(page) -> list[str]:
    """Texts of four characters or more squeezed into a column narrower than two characters."""
    return page.evaluate("""() => {
      const bad = [];
      for (const el of document.querySelectorAll('main *')) {
        const own = Array.from(el.childNodes).filter(n => n.nodeType === 3).map(n => n.textContent.trim()).join('');
        if (own.length < 4 || el.offsetParent === null) continue;
        const box = el.getBoundingClientRect();
        if (box.width > 0 && box.width < 30) bad.push(own.slice(0, 20));
      }
      if (document.documentElement.scrollWidth > window.innerWidth + 1) bad.push('horizontal scroll');
      return bad;
    }""")


def test_the_public_pages_on_a_phone(hall, scene, new_page, artifacts):
    phone = new_page(390, 844)
    for path, name in (("/guide", "phone-guide"), ("/guide/matters/32021300FG-BA-0001", "phone-guide-matter"),
                       ("/guide/status", "phone-status")):
        phone.goto(path)
        assert _no_narrow_text(phone) == [], path
        shot(phone, artifacts, name, full_page=True)
    phone.fill("#case_number", scene["case_number"])
    phone.fill("#query_code", scene["query_code"])
    phone.click("[data-action=lookup]")
    expect(phone.get_by_test_id("status-result")).to_contain_text("已收件")
    assert _no_narrow_text(phone) == []
    shot(phone, artifacts, "phone-status-result", full_page=True)
