"""Notices (文书) issued at their steps in real matters, numbered per department, series and year; their PDFs.

Set TONGBAN_NOTICE_DIR to a folder to keep the PDFs (and PNGs, when pdftoppm is installed) for a look.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import date, datetime
from pathlib import Path

import pytest

from app.clock import SHANGHAI
from app.hall.documents import render
from tests.documents.conftest import APPLICANT, pdf_text

PROMISED = "32021300CG-XK-0001"  # 城市道路挖掘许可: promised, 6 of 7 materials required, a site survey
IMMEDIATE = "32021300CG-XK-0008"  # an immediate (即办) matter of 城管局
REPORTED = "32021300HB-XK-0004"  # 危险废物经营许可: reported to the city, with a site survey
pytestmark = pytest.mark.skipif(render.fonts() is None, reason="no CJK font on this machine (fonts-noto-cjk)")


def keep(name: str, content: bytes) -> None:
    folder = os.environ.get("TONGBAN_NOTICE_DIR")
    if not folder:
        return
    path = Path(folder) / f"{name}.pdf"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    if shutil.which("pdftoppm"):
        subprocess.run(["pdftoppm", "-png", "-r", "70", "-f", "1", "-l", "1", str(path), str(path.with_suffix(""))],
                       check=True)


def run_promised(window, scenario: str) -> dict:
    matter = window.matter(PROMISED)
    case = window.start(matter)
    cid = case["id"]
    if scenario == "not_accepted":
        window.complete(cid, "accept", {"outcome": "not_accepted", "reasons": "申请事项依法不需要取得行政许可。"})
        window.complete(cid, "not_accepted", {"reasons": "申请事项依法不需要取得行政许可。",
                                              "referral": "请向区住房和城乡建设局咨询。"})
        return case
    if scenario == "supplemented":
        window.complete(cid, "accept", {"outcome": "supplement", "materials": [
            {"name": m["name"], "received": i % 2 == 0} for i, m in enumerate(matter.materials)]})
        window.complete(cid, "supplement_notice", {"method": "on_site"})
        missing = window.case(cid)["data"]["missing_materials"]
        window.complete(cid, "supplement_check", {"outcome": "complete", "received_materials": missing})
    else:
        window.complete(cid, "accept", window.accept_all(matter))
    window.complete(cid, "review", {"opinion": "经审核，符合条件。", "recommendation": "grant"})
    window.complete(cid, "site_survey", {"findings": "现场与申报一致。", "conclusion": "pass"})
    if scenario == "refused":
        window.complete(cid, "decide", {"decision": "refuse", "reasons": "挖掘路段属于新建道路保护期，依法不予许可。"})
        window.complete(cid, "deliver_refusal", {"method": "mail", "receipt_no": "SD-2026-0008"})
    else:
        window.complete(cid, "decide", {"decision": "grant", "opinion": "准予。", "result_no": "城挖〔2026〕18号"})
        window.complete(cid, "deliver", {"method": "on_site"})
    assert window.case(cid)["state"] == "completed"
    return case


# the site survey is not a procedure Art. 45 lists and the record cites no local rule: its days count, and no
# 特别程序告知书 says otherwise (tests/supervision/test_special_procedures.py has the notice where one applies)
@pytest.mark.parametrize("scenario, kinds", [
    ("granted", ["receipt", "acceptance", "delivery", "completion"]),
    ("refused", ["receipt", "acceptance", "refusal", "delivery"]),
    ("supplemented", ["receipt", "supplement", "acceptance", "delivery", "completion"]),
    ("not_accepted", ["receipt", "not_accepted"]),
])
def test_each_notice_at_its_step_of_a_promised_matter(window, clock, scenario, kinds):
    case = run_promised(window, scenario)
    documents = window.documents(case["id"])
    assert [d["kind"] for d in documents] == kinds
    for document in documents:
        assert document["issued_on"] == "2026-11-25" and document["url"].endswith(f"/documents/{document['id']}.pdf")
        assert document["number"].startswith("城管局") and "〔2026〕" in document["number"]
        text = pdf_text(window.pdf(document))
        assert document["title"] in text and document["number"] in text, document
        assert case["case_number"] in text or document["kind"] == "receipt" and case["case_number"] in text
        assert "2026年11月25日" in text
        if document["kind"] not in ("receipt", "delivery"):
            assert APPLICANT["name"] in text
        if document["kind"] not in ("receipt",):
            assert "城市道路挖掘许可" in text
    for document in documents:
        keep(f"{scenario}-{document['kind']}", window.pdf(document))


def test_refusal_always_states_the_remedy(window, clock):
    matter = window.matter(PROMISED)
    case = window.start(matter)
    cid = case["id"]
    window.complete(cid, "accept", window.accept_all(matter))
    window.complete(cid, "review", {"opinion": "不符合条件。", "recommendation": "refuse"})
    window.complete(cid, "site_survey", {"findings": "现场不符。", "conclusion": "fail"})
    window.complete(cid, "decide", {"decision": "refuse", "reasons": "现场不具备施工安全条件。"})  # no remedy given
    refusal = next(d for d in window.documents(cid) if d["kind"] == "refusal")
    text = pdf_text(window.pdf(refusal))
    assert "现场不具备施工安全条件" in text
    for words in ("六十日内", "行政复议", "六个月内", "行政诉讼"):
        assert words in text, words
    detail = window.ok("GET", f"/documents/{refusal['id']}", window.ops)
    assert "行政复议" in detail["data"]["remedy"] and "行政诉讼" in detail["data"]["remedy"]


def test_supplement_notice_pdf_lists_every_missing_material(window, clock):
    matter = window.matter(PROMISED)
    required = [m["name"] for m in matter.materials if m["required"]]
    case = window.start(matter)
    cid = case["id"]
    window.complete(cid, "accept", {"outcome": "supplement", "missing_materials": ["申请人签字的承诺书"],
                                    "materials": [{"name": required[0], "received": True}]})
    notice = window.task(cid, "supplement_notice")
    prefill = window.ok("GET", f"/tasks/{notice['id']}", window.hall.holder(notice["post"]))["prefill"]
    assert prefill["missing_materials"] == [*required[1:], "申请人签字的承诺书"]
    window.complete(cid, "supplement_notice", {"method": "sms"})  # the prefilled list goes on the notice
    supplement = next(d for d in window.documents(cid) if d["kind"] == "supplement")
    text = pdf_text(window.pdf(supplement))
    for name in [*required[1:], "申请人签字的承诺书"]:
        assert name.replace(" ", "") in text, name
    assert f"共{len(required)}项" in text
    assert required[0] not in text.split("如下")[1]
    # the applicant's deadline: the supplement check's timer (30 working days), printed as a date
    timers = window.ok("GET", "/timers", window.ops, params={"instance": cid})["items"]
    [deadline] = [t for t in timers if t["element_id"] == "timer_supplement_check"]
    day = date.fromisoformat(deadline["due_at"][:10])
    assert f"补正期限至{day.year}年{day.month}月{day.day}日" in text and "逾期未补正" in text


def test_immediate_and_reported_matters_issue_theirs(window, clock):
    matter = window.matter(IMMEDIATE)
    case = window.start(matter)
    window.complete(case["id"], "accept", window.accept_all(matter))
    window.complete(case["id"], "decide", {"decision": "grant", "opinion": "准予备案。"})
    assert [d["kind"] for d in window.documents(case["id"])] == ["receipt", "acceptance", "completion", "delivery"]
    case = window.start(matter)
    window.complete(case["id"], "accept", window.accept_all(matter))
    window.complete(case["id"], "decide", {"decision": "refuse", "reasons": "店招设置位置位于禁设区域。"})
    assert [d["kind"] for d in window.documents(case["id"])] == ["receipt", "acceptance", "refusal", "delivery"]

    matter = window.matter(REPORTED)
    case = window.start(matter)
    cid = case["id"]
    window.complete(cid, "accept", window.accept_all(matter))
    window.complete(cid, "first_review", {"opinion": "初审同意。", "recommendation": "grant"})
    window.complete(cid, "site_survey", {"findings": "现场符合。", "conclusion": "pass"})
    window.complete(cid, "forward", {"forwarded_to": matter.higher_authority, "opinion": "初审同意，报请审批。"})
    window.ok("POST", "/messages", window.clerk(matter), json={
        "name": "higher_authority_reply", "business_key": case["business_key"],
        "data": {"higher_decision": "approved", "higher_opinion": "同意核发"}})
    window.complete(cid, "inform", {"higher_decision": "approved", "method": "sms"})
    documents = window.documents(cid)
    assert [d["kind"] for d in documents] == ["receipt", "acceptance", "higher_decision", "delivery"]
    accepted = pdf_text(window.pdf(documents[1]))  # the district reviews first and forwards: it promises no decision
    assert "完成初审" in accepted and "作出决定" in accepted and matter.higher_authority in accepted
    text = pdf_text(window.pdf(documents[-2]))
    assert matter.higher_authority in text and "同意核发" in text
    assert "上级机关决定告知书" in pdf_text(window.pdf(documents[-1]))  # its 送达回证
    keep("reported-higher-decision", window.pdf(documents[-2]))


def test_numbers_run_per_department_series_and_year(window, clock):
    clock.set(datetime(2026, 12, 30, 10, 0, tzinfo=SHANGHAI))
    fgj, wsj = window.matter("32021300FG-BA-0001"), window.matter("32021300WS-XK-0005")
    first, second = window.start(fgj), window.start(fgj)
    other = window.start(wsj)
    numbers = [window.documents(c["id"])[0]["number"] for c in (first, second, other)]
    serial = int(numbers[0].split("〕")[1].rstrip("号"))
    assert numbers == [f"发改局收〔2026〕{serial}号", f"发改局收〔2026〕{serial + 1}号", numbers[2]]
    assert numbers[2].startswith("卫生局收〔2026〕")
    window.complete(first["id"], "accept", window.accept_all(fgj))
    acceptance = window.documents(first["id"])[-1]
    assert acceptance["kind"] == "acceptance" and acceptance["number"].startswith("发改局受〔2026〕")
    clock.set(datetime(2027, 1, 4, 9, 30, tzinfo=SHANGHAI))
    new_year = window.start(fgj)
    assert window.documents(new_year["id"])[0]["number"] == "发改局收〔2027〕1号"
    assert new_year["case_number"] == "32021300FG202701040001"


def test_another_departments_clerk_sees_no_notice(window, clock):
    matter = window.matter(PROMISED)  # 城管局
    case = window.start(matter)
    receipt = window.documents(case["id"])[0]
    outsider = window.hall.holder("卫生局受理A岗")
    assert window.call("GET", f"/instances/{case['id']}/documents", outsider)[0] == 404
    assert window.call("GET", f"/documents/{receipt['id']}", outsider)[0] == 404
    response = window.client.get(receipt["url"], headers=window.hall.auth(outsider))
    assert response.status_code == 404
    assert window.call("GET", "/documents/999999", outsider)[0] == 404
    # ops reads every case with identifiers masked: in the data and in the PDF
    detail = window.ok("GET", f"/documents/{receipt['id']}", window.ops)
    assert detail["data"]["applicant"]["agent"]["id_number"] != APPLICANT["agent"]["id_number"]
    assert APPLICANT["agent"]["phone"] not in pdf_text(window.pdf(receipt))
    clerk = window.clerk(matter)
    assert APPLICANT["phone"].replace("-", "") in pdf_text(window.pdf(receipt, clerk)).replace("-", "")


def test_receipt_prints_the_query_code_given_at_start(window, clock, caplog):
    caplog.set_level("INFO", logger="tongban.access")
    matter = window.matter(PROMISED)
    case = window.start(matter)
    code = case["query_code"]
    [receipt] = case["documents"]
    assert receipt["kind"] == "receipt" and f"query_code={code}" in receipt["url"]
    clerk = window.clerk(matter)
    response = window.client.get(receipt["url"], headers=window.hall.auth(clerk))
    text = pdf_text(response.data)
    assert code in text and case["case_number"] in text
    keep("receipt", response.data)
    logged = [r.getMessage() for r in caplog.records if r.name == "tongban.access" and ".pdf" in r.getMessage()]
    assert logged and all(code not in line and "query_code=***" in line for line in logged), logged
    later = window.documents(case["id"])[0]
    plain = pdf_text(window.pdf(later, clerk))  # later: the code is not printed again
    assert code not in plain and "查询码" in plain
    assert "AAAA-BBBB-CC" not in pdf_text(window.pdf(later, clerk, query_code="AAAA-BBBB-CC"))  # a wrong one
