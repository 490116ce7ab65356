"""The faults a legal officer found at the edges of the law (issue 16), each reproduced through the API on a moved
clock (the app's injectable clock), against hand computations on the 2026 calendar.
"""

from __future__ import annotations

from datetime import date

import pytest

from app.hall.documents import law, templates
from tests.supervision.conftest import ACCEPT, DELIVER, GRANT, REVIEW, shanghai
from tests.supervision.test_hall_rules import _elements, _fire_timers, _matter, _promised

INJURY = "32021300RL-QR-0002"  # 工伤认定: a 行政确认 between the worker and the employer (工伤保险条例 Art. 20)
PARTY = "32021300ZZ-GG-0001"  # 党员组织关系转接: the 组织部's party service, an immediate case


def _public_status(desk, started: dict) -> str:
    response = desk.client.post("/api/v1/case-status", json={"case_number": started["case_number"],
                                                             "query_code": started["query_code"]})
    assert response.status_code == 200, response.json
    return response.json["status"]


def _documents(desk, cid: str) -> list[dict]:
    return desk.ok("GET", f"/instances/{cid}/documents", desk.ops)["items"]


def _document(desk, cid: str, kind: str) -> dict:
    [found] = [d for d in _documents(desk, cid) if d["kind"] == kind]
    return desk.ok("GET", f"/documents/{found['id']}", desk.ops)


def test_a_case_decided_on_day_3_is_on_time_though_collected_on_day_8(desk, clock):
    """The clock stops at the decision (决定), not at the end of the process: delivery has its own clock."""
    matter = _promised(desk)
    clock.set(shanghai(2026, 11, 23, 9))  # Monday: received and accepted
    cid = desk.start(matter)["id"]
    desk.complete(cid, "accept", ACCEPT)
    clock.set(shanghai(2026, 11, 24, 10))
    desk.complete(cid, "review", REVIEW)
    clock.set(shanghai(2026, 11, 26, 10))  # Thursday: the 3rd working day
    desk.complete(cid, "decide", GRANT)
    decided = desk.clock_of(cid)
    assert (decided["state"], decided["decision"], decided["on_time"], decided["working_days_used"]) == (
        "stopped", "granted", True, 3)
    assert decided["light"] is None and decided["delivery"]["due_date"] == "2026-12-10"  # Art. 44: 10 working days
    clock.set(shanghai(2026, 12, 3, 15))  # the applicant collects the licence on the 8th working day
    desk.sweep()
    assert [w for w in desk.warnings(instance=cid) if w["kind"].startswith("case_")] == []
    desk.complete(cid, "deliver", DELIVER)
    final = desk.clock_of(cid)
    assert (final["outcome"], final["on_time"], final["working_days_used"]) == ("granted", True, 3)
    assert final["delivery"]["on_time"] is True
    case = desk.case(cid)
    assert case["outcome"] == "granted" and case["on_time"] is True


def test_an_immediate_case_decided_late_ends_granted_with_its_escalation(desk, clock):
    """A 即办件 decided a day late: the 超期督办 opened by its timer ends with the case, which ends 准予 — not
    'completed' a week later when the supervisor closes the escalation."""
    matter = next(m for m in desk.matters(kind="immediate") if m.department_code == "cgj")
    clock.set(shanghai(2026, 11, 23, 9))
    started = desk.start(matter)
    cid = started["id"]
    desk.complete(cid, "accept", ACCEPT)
    clock.set(shanghai(2026, 11, 24, 18))
    _fire_timers(desk)
    assert "supervise_decide" in _elements(desk, cid)
    escalation = desk.task(cid, "supervise_decide")
    clock.set(shanghai(2026, 11, 25, 10))
    desk.complete(cid, "decide", {"decision": "grant", "opinion": "准予。"})
    case = desk.case(cid)
    assert (case["state"], case["outcome"]) == ("completed", "granted")
    assert desk.ok("GET", f"/tasks/{escalation['id']}", desk.ops)["state"] == "cancelled"
    final = desk.clock_of(cid)
    assert (final["on_time"], final["working_days_used"], final["light"]) == (False, 2, None)
    assert "准予" in _public_status(desk, started)
    assert [w for w in desk.warnings(instance=cid) if w["state"] == "open"] == []


def test_deemed_acceptance_binds_no_refusal_to_accept_afterwards(desk, clock):
    """No supplement notice within 5 working days: accepted on receipt (Art. 32), and then 不予受理 is refused."""
    matter = _promised(desk)
    clock.set(shanghai(2026, 11, 23, 9))
    cid = desk.start(matter)["id"]
    desk.complete(cid, "accept", {"outcome": "supplement", "missing_materials": ["营业执照"]})
    clock.set(shanghai(2026, 12, 1, 9))  # the 6th working day: the sweep finds the notice late
    desk.sweep()
    assert desk.clock_of(cid)["accepted_on_receipt"] is True
    desk.complete(cid, "supplement_notice", {"missing_materials": ["营业执照"], "method": "sms", "notice_no": "BZ-9"})
    before = desk.case(cid)
    check = desk.task(cid, "supplement_check")
    user = desk.hall.holder(check["post"])
    desk.ok("POST", f"/tasks/{check['id']}/claim", user)
    code, body = desk.call("POST", f"/tasks/{check['id']}/complete", user,
                           json={"data": {"outcome": "not_accepted", "received_materials": [], "reasons": "材料不全。"}})
    if code == 200:  # the diagram routes to the 不予受理 notice: that is where the law stops it
        refusal = desk.task(cid, "not_accepted")
        holder = desk.hall.holder(refusal["post"])
        code, body = desk.call("POST", f"/tasks/{refusal['id']}/complete", holder,
                               json={"data": {"reasons": "材料不全。"}})
    assert code == 422 and body["code"] == "deemed_accepted", body
    assert "第三十二条" in body["message"] and body["details"]["accepted_on_receipt"] is True
    assert desk.case(cid)["state"] == "running"
    assert not [d for d in _documents(desk, cid) if d["kind"] == "not_accepted"]
    assert desk.case(cid)["version"] >= before["version"]


def test_the_acceptance_notice_counts_the_limit_from_acceptance_after_a_supplement(desk, clock):
    matter = _promised(desk)
    clock.set(shanghai(2026, 9, 21, 9))  # Monday: received with materials missing
    cid = desk.start(matter)["id"]
    desk.complete(cid, "accept", {"outcome": "supplement", "missing_materials": ["营业执照"]})
    desk.complete(cid, "supplement_notice", {"missing_materials": ["营业执照"], "method": "sms", "notice_no": "BZ-8"})
    clock.set(shanghai(2026, 9, 29, 10))  # supplemented and accepted on 09-29
    desk.complete(cid, "supplement_check", {"outcome": "complete", "received_materials": ["营业执照"]})
    from app.calendar import service as calendar

    with desk.app.app_context():
        due = calendar.workday_calendar().add_working_days(date(2026, 9, 29), matter.promised_days).date
    state = desk.clock_of(cid)
    assert (state["accepted_on"], state["due_date"]) == ("2026-09-29", due.isoformat())
    notice = _document(desk, cid, "acceptance")
    assert notice["data"]["due_date"] == due.isoformat() > "2026-10-08"  # the National Day holiday in between


def test_a_refused_injury_claim_is_a_refusal_to_recognise_to_both_parties(desk, clock):
    matter = _matter(desk, INJURY)
    clock.set(shanghai(2026, 11, 23, 9))
    cid = desk.start(matter)["id"]
    desk.complete(cid, "accept", ACCEPT)
    desk.complete(cid, "review", {"opinion": "不符合工伤认定条件。", "recommendation": "refuse"})
    desk.complete(cid, "decide", {"decision": "refuse", "reasons": "受伤非因工作原因。"})
    refusal = _document(desk, cid, "refusal")
    assert refusal["title"] == "不予认定工伤决定书"
    assert "用人单位" in refusal["data"]["parties"] and "行政许可" not in refusal["data"]["basis"]
    assert "工伤保险条例" in refusal["data"]["basis"]
    assert "区人民政府" in refusal["data"]["remedy"] and "六个月" in refusal["data"]["remedy"]
    # numbered in the refusals' series of its own act (不许 is a licence's), the remedy naming this 决定书
    assert "不予〔2026〕" in refusal["number"] and "不许" not in refusal["number"]
    assert "如不服本决定书" in refusal["data"]["remedy"]
    body = "".join(templates.sheet("refusal", refusal["data"], refusal["number"]).paragraphs)
    assert "本机关决定不予认定工伤。" in body  # what it decides, as its title names it


def test_a_party_service_refused_offers_no_administrative_remedy(desk, clock):
    matter = _matter(desk, PARTY)
    clock.set(shanghai(2026, 11, 23, 9))
    cid = desk.start(matter)["id"]
    desk.complete(cid, "accept", ACCEPT)
    desk.complete(cid, "decide", {"decision": "refuse", "reasons": "转出党组织的介绍信不全。"})
    refusal = _document(desk, cid, "refusal")
    remedy = refusal["data"]["remedy"]
    assert "行政复议" not in remedy and "行政诉讼" not in remedy and "上级党组织" in remedy
    assert "行政许可" not in refusal["title"] and "行政许可法" not in refusal["data"]["basis"]
    # a 告知书 names itself so in its remedy; a party committee's department is no 机关 and says 本部
    assert refusal["title"] == "不予办理告知书" and "如对本告知书有异议" in remedy
    assert "不予〔2026〕" in refusal["number"] and "不许" not in refusal["number"]
    printed = templates.sheet("refusal", refusal["data"], refusal["number"])
    body = "".join(printed.paragraphs)
    assert "本部决定不予办理" in body and "本机关" not in body


@pytest.mark.parametrize("on, body, months", [
    (date(2008, 11, 3), "区人民政府或者", "三个月"),  # before 2015-05-01: three months
    (date(2016, 3, 1), "区人民政府或者", "六个月"),
    (date(2023, 12, 29), "区人民政府或者", "六个月"),
    (date(2024, 1, 2), "区人民政府申请", "六个月"),  # since 2024-01-01 the 区 government alone
])
def test_the_remedy_is_the_law_in_force_on_the_notice_date(on, body, months):
    district = {"government": "无锡市崇安区人民政府", "court": "无锡市崇安区人民法院"}
    text = law.remedy(law.FAMILIES["licence"], on, agency="无锡市崇安区卫生局", district=district,
                      superior="无锡市卫生局")
    assert body.replace("区人民政府", "无锡市崇安区人民政府") in text and months in text
    assert "无锡市崇安区人民法院" in text


def test_a_matter_named_as_an_application_is_not_applied_for_twice():
    data = {"matter": {"name": "劳动能力鉴定申请"}, "received_on": "2026-12-07", "case_number": "X"}
    for kind in ("acceptance", "refusal", "not_accepted"):
        text = "".join(templates.sheet(kind, data, "1号").paragraphs)
        assert "劳动能力鉴定申请" in text and "申请申请" not in text, kind
    data["matter"]["name"] = "城市道路挖掘许可"
    assert "城市道路挖掘许可申请" in "".join(templates.sheet("refusal", data, "1号").paragraphs)
