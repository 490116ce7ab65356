"""Hall rules through the API (issue 10, items 2 and 3), on the real hall and catalog.

- task-local data: every completed task's submission is kept (who, when, what); a task that declares outputs
  (`camunda:outputParameter`) hands only those to the case data;
- 联办件: each co-department's opinion stays under its department; a dissent goes to the lead's coordination,
  never to a grant;
- clocks that follow the law: working-day step limits, special procedures' bounds (Art. 45), 延期 (Art. 42),
  上报件 (Art. 43), delivery (Art. 44), the supplement notice and the supplement deadline (Art. 32).
"""

from __future__ import annotations

from app.extensions import db
from app.hall import vocabulary as hall
from tests.supervision.conftest import ACCEPT, DELIVER, GRANT, HALL, REVIEW, SHORT, shanghai, supervisor_of

JOINT = "32021300FG-XK-0001"  # 企业投资项目核准: 发改局 leads, 环保局 and 城管局 give opinions
REPORTED = "32021300CZ-XK-0002"
CENTER = next(u["username"] for u in HALL["users"] if "center_supervisor" in u["roles"])
EXPERT = {"opinion": "专家组同意通过。", "conclusion": "pass", "experts": ["专家甲", "专家乙", "专家丙"]}
# the local rule that makes the site survey a special procedure (Art. 45 does not list site inspections)
LOCAL_RULE = {"{name: 现场勘察, max_days: 3}": "{name: 现场勘察, max_days: 3, basis: 《无锡市城市道路管理办法》第二十条}"}
SURVEY = {"findings": "现场与申报材料一致。", "conclusion": "pass", "surveyors": ["甲", "乙"]}


def _matter(desk, code):
    return next(m for m in desk.matters() if m.code == code)


def _elements(desk, cid) -> set[str]:
    return {t["element_id"] for t in desk.case(cid)["tasks"]}


def _fire_timers(desk) -> int:
    return desk.ok("POST", "/timers/fire-due", desk.ops)["advanced"]


def _joint_to_opinions(desk, clock):
    clock.set(shanghai(2026, 11, 23))  # a Monday
    case = desk.start(_matter(desk, JOINT))
    cid = case["id"]
    desk.complete(cid, "accept", ACCEPT)
    assert {"review", "co_opinion_hbj", "co_opinion_cgj"} <= _elements(desk, cid)
    desk.complete(cid, "review", REVIEW)
    return cid


# -- task-local data and 联办件 ------------------------------------------------------------------------------------
def test_each_department_keeps_its_opinion_and_a_dissent_goes_to_coordination_not_to_a_grant(desk, clock):
    cid = _joint_to_opinions(desk, clock)
    agree = desk.complete(cid, "co_opinion_cgj", {"opinion": "同意。", "agree": True, "conditions": "按规划实施"})
    clock.set(shanghai(2026, 11, 24, 10))
    dissent = desk.complete(cid, "co_opinion_hbj", {"opinion": "不同意：选址位于水源保护区。", "agree": False})

    data = desk.case(cid)["data"]
    opinions = data["opinions"]
    assert set(opinions) == {"hbj", "cgj"}  # neither overwrote the other
    assert opinions["cgj"]["agree"] is True and opinions["cgj"]["conditions"] == "按规划实施"
    assert opinions["cgj"]["by"] == agree["completed_by"]
    assert opinions["hbj"] == {"department": "hbj", "opinion": "不同意：选址位于水源保护区。", "agree": False,
                               "conditions": None, "by": dissent["completed_by"],
                               "at": opinions["hbj"]["at"]} and opinions["hbj"]["at"].startswith("2026-11-24T02:00")
    assert "agree" not in data  # a task with declared outputs keeps the rest local

    # the dissent routes to the lead department's coordination: no decision step, nothing to grant
    elements = _elements(desk, cid)
    assert "coordinate" in elements and "decide" not in elements and "expert_review" not in elements
    coordinate = desk.task(cid, "coordinate")
    assert coordinate["post"] == f"{SHORT['fgj']}审核岗"

    # the submissions: whole, with who and when, readable with the case and with each later task
    items = desk.ok("GET", f"/instances/{cid}/submissions", desk.ops)["items"]
    assert [i["element_id"] for i in items] == ["accept", "review", "co_opinion_cgj", "co_opinion_hbj"]
    hbj = items[-1]
    assert hbj["data"] == {"opinion": "不同意：选址位于水源保护区。", "agree": False}
    assert hbj["outputs"] == ["opinions"] and items[0]["outputs"] is None
    assert hbj["submitted_by"] == dissent["completed_by"] and hbj["submitted_at"].startswith("2026-11-24T10:00")
    clerk = desk.hall.holder(coordinate["post"])
    detail = desk.ok("GET", f"/tasks/{coordinate['id']}", clerk)
    assert [s["element_id"] for s in detail["submissions"]] == [i["element_id"] for i in items]
    outsider = desk.hall.holder(f"{SHORT['mzj']}受理A岗") if "mzj" in SHORT else None
    if outsider:
        assert desk.call("GET", f"/instances/{cid}/submissions", outsider)[0] == 404

    # coordination fails: a refusal with reasons, never a grant
    code, body = desk.call("POST", f"/tasks/{coordinate['id']}/complete", clerk,
                           json={"data": {"coordination": "refuse", "opinion": "协调不成。"}})
    assert code == 422, body  # a refusal states its reasons (Art. 38)
    desk.complete(cid, "coordinate", {"coordination": "refuse", "opinion": "协调不成。",
                                      "reasons": "环保局不同意：选址位于水源保护区。",
                                      "remedy": "可依法申请行政复议或者提起行政诉讼。"})
    assert _elements(desk, cid) == {"deliver_refusal"}
    desk.complete(cid, "deliver_refusal", DELIVER)
    case = desk.case(cid)
    assert (case["state"], case["outcome"]) == ("completed", "refused")


def test_a_dissent_stands_until_its_department_withdraws_it(desk, clock):
    """Art. 26: the lead department cannot resolve a dissent alone (the attack: 环保局 dissents on a 发改局-led case,
    发改局's reviewer marks it "resolved"); 环保局's own post withdraws it, and only then may the case be granted."""
    cid = _joint_to_opinions(desk, clock)
    desk.complete(cid, "co_opinion_cgj", {"opinion": "同意。", "agree": True})
    desk.complete(cid, "co_opinion_hbj", {"opinion": "暂不同意。", "agree": False, "conditions": "补充环评"})
    coordinate = desk.task(cid, "coordinate")
    lead = desk.hall.holder(coordinate["post"])
    desk.ok("POST", f"/tasks/{coordinate['id']}/claim", lead)
    code, body = desk.call("POST", f"/tasks/{coordinate['id']}/complete", lead, json={"data": {
        "coordination": "resolved", "opinion": "经协调一致。"}})
    assert code == 422 and body["code"] == "dissent_stands" and body["details"]["dissenting"] == ["hbj"], body
    desk.ok("POST", f"/tasks/{coordinate['id']}/unclaim", lead)
    hbj = desk.hall.holder("环保局审核岗")  # the dissenting department's own post (a candidate of the step)
    desk.complete(cid, "coordinate", {"coordination": "resolved", "opinion": "申请人已补充环评，环保局撤回异议。"},
                  user=hbj)
    course = desk.ok("GET", f"/instances/{cid}/course", desk.ops)["items"]
    opinions = [(e["data"]["department"], e["data"]["agree"]) for e in course if e["kind"] == "opinion"]
    assert sorted(opinions) == [("cgj", True), ("hbj", False)]  # every opinion stays as it was given
    assert [e["actor"] for e in course if e["kind"] == "coordination"] == [hbj]
    assert desk.case(cid)["data"]["opinions"]["hbj"]["agree"] is False


def test_the_district_government_decides_a_standing_dissent(desk, clock):
    cid = _joint_to_opinions(desk, clock)
    desk.complete(cid, "co_opinion_cgj", {"opinion": "不同意。", "agree": False})
    desk.complete(cid, "co_opinion_hbj", {"opinion": "不同意。", "agree": False})
    cgj = desk.hall.holder("城管局审核岗")
    task = desk.task(cid, "coordinate")
    desk.ok("POST", f"/tasks/{task['id']}/claim", cgj)
    code, body = desk.call("POST", f"/tasks/{task['id']}/complete", cgj, json={"data": {
        "coordination": "resolved", "opinion": "城管局撤回。"}})
    assert code == 409 and body["details"]["dissenting"] == ["hbj"], body  # one withdrew; 环保局's still stands
    desk.ok("POST", f"/tasks/{task['id']}/unclaim", cgj)
    government = desk.hall.holder("区政府协调岗")
    desk.complete(cid, "coordinate", {"coordination": "resolved", "opinion": "区政府协调决定：准予，附条件。"},
                  user=government)
    assert "decide" in _elements(desk, cid) or "expert_review" in _elements(desk, cid)


def test_after_coordination_the_decision_sees_every_opinion_and_may_grant(desk, clock):
    cid = _joint_to_opinions(desk, clock)
    desk.complete(cid, "co_opinion_cgj", {"opinion": "同意。", "agree": True})
    desk.complete(cid, "co_opinion_hbj", {"opinion": "暂不同意。", "agree": False, "conditions": "补充环评"})
    desk.complete(cid, "coordinate", {"coordination": "resolved", "opinion": "经协调，申请人补充环评后环保局同意。"},
                  user=desk.hall.holder("环保局审核岗"))
    desk.complete(cid, "expert_review", EXPERT)
    decide = desk.task(cid, "decide")
    approver = desk.hall.holder(decide["post"])
    detail = desk.ok("GET", f"/tasks/{decide['id']}", approver)
    assert {s["element_id"] for s in detail["submissions"]} >= {"co_opinion_hbj", "co_opinion_cgj", "coordinate"}
    assert set(desk.case(cid)["data"]["opinions"]) == {"hbj", "cgj"}
    desk.complete(cid, "decide", GRANT)
    desk.complete(cid, "deliver", DELIVER)
    assert desk.case(cid)["outcome"] == "granted"


def test_all_agree_goes_straight_on_to_the_decision(desk, clock):
    cid = _joint_to_opinions(desk, clock)
    desk.complete(cid, "co_opinion_cgj", {"opinion": "同意。", "agree": True})
    desk.complete(cid, "co_opinion_hbj", {"opinion": "同意。", "agree": True})
    assert _elements(desk, cid) == {"expert_review"}


def test_a_review_after_a_dissent_cannot_rewrite_it(desk, clock):
    """The order an outside attack used: the dissent first, then the review (a parallel branch) submits
    `opinions` agreeing for that department: refused, and the case still goes to coordination."""
    clock.set(shanghai(2026, 11, 23))
    cid = desk.start(_matter(desk, JOINT))["id"]
    desk.complete(cid, "accept", ACCEPT)
    desk.complete(cid, "co_opinion_hbj", {"opinion": "不同意。", "agree": False})
    review = desk.task(cid, "review")
    reviewer = desk.hall.holder(review["post"])
    desk.ok("POST", f"/tasks/{review['id']}/claim", reviewer)
    code, body = desk.call("POST", f"/tasks/{review['id']}/complete", reviewer,
                           json={"data": {**REVIEW, "opinions": {"hbj": {"agree": True, "opinion": "同意"}}}})
    assert code == 422 and body["code"] == "protected_field" and body["details"]["field"] == "opinions", body
    desk.complete(cid, "review", REVIEW)
    desk.complete(cid, "co_opinion_cgj", {"opinion": "同意。", "agree": True})
    assert "coordinate" in _elements(desk, cid) and "decide" not in _elements(desk, cid)


def test_no_other_step_rewrites_a_department_opinion(desk, clock):
    """A review (or any step but a co-opinion) submitting `opinions` or `coordination` is refused: a dissent on
    the record cannot be turned into agreement, whatever order the parallel steps complete in."""
    cid = _joint_to_opinions(desk, clock)
    desk.complete(cid, "co_opinion_hbj", {"opinion": "不同意：选址位于水源保护区。", "agree": False})
    for element in ("co_opinion_cgj", "coordinate"):
        if element in _elements(desk, cid):
            task = desk.task(cid, element)
            user = desk.hall.holder(task["post"])
            desk.ok("POST", f"/tasks/{task['id']}/claim", user)
            code, body = desk.call("POST", f"/tasks/{task['id']}/complete", user, json={"data": {
                "opinion": "同意。", "agree": True, "opinions": {"hbj": {"agree": True}}, "coordination": "resolved"}})
            assert code == 422 and body["code"] == "protected_field", body
    assert desk.case(cid)["data"]["opinions"]["hbj"]["agree"] is False


# -- clocks that follow the law --------------------------------------------------------------------------------
def _promised(desk, special: bool = False):
    return next(m for m in desk.matters(kind="promised", green_channel=False)
                if bool(m.special_procedures) == special and m.promised_days >= 5)


def test_a_review_step_limit_set_on_a_friday_does_not_fire_over_the_weekend(desk, clock):
    matter = _promised(desk)
    clock.set(shanghai(2026, 11, 27, 9))  # Friday
    cid = desk.start(matter)["id"]
    desk.complete(cid, "accept", ACCEPT)
    review = desk.task(cid, "review")
    days = -(-matter.promised_days // 2)
    assert review["due_at"][:10] > "2026-11-30"  # working days: never on the weekend, never Monday for P3D+
    clock.set(shanghai(2026, 11, 29, 23, 59))  # Sunday night
    _fire_timers(desk)
    assert "supervise_review" not in _elements(desk, cid)
    from datetime import date

    from app.calendar import service as calendar

    with desk.app.app_context():
        due = calendar.workday_calendar().add_working_days(date(2026, 11, 27), days).date
    assert review["due_at"].startswith(f"{due.isoformat()}T17:00")  # at the office's close


def test_a_special_procedure_beyond_its_bound_warns_yellow_then_red_to_both_supervisors(desk, clock):
    matter = next(m for m in desk.matters(code="32021300CG-XK-0001"))
    clock.set(shanghai(2026, 11, 23, 9))  # Monday; 现场勘察 max 3 working days
    cid = desk.start(matter)["id"]
    desk.complete(cid, "accept", ACCEPT)
    for element in sorted(_elements(desk, cid)):
        if element == "review":
            desk.complete(cid, "review", REVIEW)
    assert "site_survey" in _elements(desk, cid)
    clock.set(shanghai(2026, 11, 25, 9))
    desk.sweep()
    assert [w for w in desk.warnings(instance=cid) if w["kind"] == "special_overdue"] == []
    clock.set(shanghai(2026, 11, 26, 9))  # 3 working days
    desk.sweep()
    [yellow] = [w for w in desk.warnings(instance=cid) if w["kind"] == "special_overdue"]
    assert yellow["level"] == "yellow" and "现场勘察" in yellow["message"]
    clock.set(shanghai(2026, 11, 30, 9))  # Monday: 5 working days
    desk.sweep()
    [red] = [w for w in desk.warnings(instance=cid) if w["kind"] == "special_overdue"]
    assert red["level"] == "red" and red["post"] == f"{SHORT['cgj']}督查岗"
    assert red["id"] in {w["id"] for w in desk.warnings(CENTER, instance=cid)}  # 中心督查 sees it too
    assert red["id"] in {w["id"] for w in desk.warnings(supervisor_of("cgj"), instance=cid)}
    desk.complete(cid, "site_survey", SURVEY)
    desk.sweep()
    assert [w for w in desk.warnings(instance=cid) if w["kind"] == "special_overdue"] == []


def test_an_extension_moves_the_due_date_once_with_a_reason_by_the_head(desk, clock):
    matter = _promised(desk)
    clock.set(shanghai(2026, 11, 23, 9))
    cid = desk.start(matter)["id"]
    desk.complete(cid, "accept", ACCEPT)
    before = desk.clock_of(cid)
    clerk = desk.hall.holder(f"{SHORT[matter.department_code]}受理A岗")
    head = head_of(desk, matter.department_code)
    assert desk.call("POST", f"/instances/{cid}/extend", clerk, json={"reason": "需补充调查"})[0] == 403
    other = next(d for d in SHORT if d != matter.department_code)
    assert desk.call("POST", f"/instances/{cid}/extend", supervisor_of(other), json={"reason": "x"})[0] in (403, 404)
    assert desk.call("POST", f"/instances/{cid}/extend", head_of(desk, other), json={"reason": "x"})[0] in (403, 404)
    # the head of the deciding agency approves (Art. 42): neither its supervisor (督查岗) nor 中心督查
    assert desk.call("POST", f"/instances/{cid}/extend", supervisor_of(matter.department_code),
                     json={"reason": "x"})[0] == 403
    assert desk.call("POST", f"/instances/{cid}/extend", CENTER, json={"reason": "x"})[0] == 403
    assert desk.call("POST", f"/instances/{cid}/extend", head, json={})[0] == 422
    blank = desk.call("POST", f"/instances/{cid}/extend", head, json={"reason": " \n "})
    assert blank[0] == 422 and "空白" in str(blank[1]["details"]), blank
    after = desk.ok("POST", f"/instances/{cid}/extend", head, json={"reason": "案情复杂，需补充调查"})
    assert after["extended_days"] == hall.EXTENSION_DAYS and after["extension_reason"] == "案情复杂，需补充调查"
    with desk.app.app_context():
        from datetime import date

        from app.calendar import service as calendar

        expected = calendar.workday_calendar().add_working_days(
            date.fromisoformat(before["due_date"]), hall.EXTENSION_DAYS).date
    assert after["due_date"] == expected.isoformat() and desk.case(cid)["due_date"] == expected.isoformat()
    assert after["events"][-1]["kind"] == "extend" and "案情复杂" in after["events"][-1]["reason"]
    code, body = desk.call("POST", f"/instances/{cid}/extend", head, json={"reason": "再延"})
    assert code == 409, body
    # the applicant is told in writing: the reason, the head's approval and the new date
    [listed] = [d for d in desk.ok("GET", f"/instances/{cid}/documents", head)["items"] if d["kind"] == "extension"]
    notice = desk.ok("GET", f"/documents/{listed['id']}", head)
    assert notice["title"] == "延期告知书" and notice["data"]["reason"] == "案情复杂，需补充调查"
    assert notice["data"]["due_date"] == expected.isoformat() and notice["data"]["approved_by"]
    assert "第四十二条" in notice["data"]["basis"]
    course = [e["kind"] for e in desk.ok("GET", f"/instances/{cid}/course", head)["items"]]
    assert course[-1] == "extended"
    audit = desk.ok("GET", f"/instances/{cid}/audit", desk.ops, params={"limit": 200})["items"]
    assert any(e["action"] == "instance.extended" and e["details"]["days"] == hall.EXTENSION_DAYS for e in audit)


def test_a_joint_case_extends_by_fifteen(desk, clock):
    cid = _joint_to_opinions(desk, clock)
    lead = desk.case(cid)["department_code"]
    body = desk.ok("POST", f"/instances/{cid}/extend", head_of(desk, lead), json={"reason": "会办部门意见分歧，需协调"})
    assert body["extended_days"] == hall.JOINT_EXTENSION_DAYS == 15


def test_an_immediate_case_cannot_be_extended(desk, clock):
    matter = next(m for m in desk.matters(kind="immediate"))
    clock.set(shanghai(2026, 11, 23, 9))
    cid = desk.start(matter)["id"]
    code, body = desk.call("POST", f"/instances/{cid}/extend", head_of(desk, matter.department_code),
                           json={"reason": "需要研究"})
    assert code == 409 and "即办件" in body["message"], body


def head_of(desk, department: str) -> str:
    return desk.hall.holder(f"{SHORT[department]}负责人岗")


def _reported_to_forwarding(desk, clock):
    return _forwarded_case(desk, clock, _matter(desk, REPORTED))


def _forwarded_case(desk, clock, matter):
    clock.set(shanghai(2026, 11, 23, 9))
    start = desk.start(matter)
    cid = start["id"]
    desk.complete(cid, "accept", ACCEPT)
    for _ in range(5):
        elements = _elements(desk, cid)
        if not elements:
            break
        element = sorted(elements)[0]
        task = desk.task(cid, element)
        data = {"review": REVIEW, "forward": {"forwarded_to": matter.higher_authority or "市财政局",
                                              "opinion": "初审同意，报请审批。"},
                "site_survey": SURVEY, "expert_review": EXPERT}.get(task["form_key"])
        desk.complete(cid, element, data)
    return matter, start, cid


def test_a_reported_case_after_forwarding_goes_ten_working_days_without_turning_red(desk, clock):
    matter, start, cid = _reported_to_forwarding(desk, clock)
    forwarded = desk.clock_of(cid)
    assert forwarded["forwarded_at"] and forwarded["forward_clock"] == "end" and forwarded["state"] == "stopped"
    assert forwarded["on_time"] is True and forwarded["light"] is None
    due = forwarded["due_date"]
    clock.set(shanghai(2026, 12, 31, 9))  # long after the district's due date, the province still deciding
    assert due < "2026-12-31"
    desk.sweep()
    assert [w for w in desk.warnings(instance=cid) if w["kind"].startswith("case_")] == []
    view = desk.clock_of(cid)
    assert view["light"] is None and view["higher"]["working_days"] >= 10
    desk.ok("POST", "/messages", desk.hall.holder(f"{SHORT[matter.department_code]}受理A岗"), json={
        "name": "higher_authority_reply", "business_key": start["business_key"],
        "data": {"higher_decision": "approved", "higher_opinion": "批复同意"}})
    view = desk.clock_of(cid)
    assert view["higher"]["replied_at"] is not None  # the higher authority's reply is its decision
    assert [e["kind"] for e in view["events"]][-2:] == ["reply", "decide"]
    assert (view["decision"], view["outcome"]) == ("higher_approved", "higher_approved")
    desk.complete(cid, "inform", {"higher_decision": "approved", "method": "sms"})
    final = desk.clock_of(cid)
    assert final["outcome"] == "higher_approved" and final["on_time"] is True


def test_a_decision_not_delivered_within_ten_working_days_warns(desk, clock):
    matter = _promised(desk)
    clock.set(shanghai(2026, 11, 23, 9))
    cid = desk.start(matter)["id"]
    desk.complete(cid, "accept", ACCEPT)
    desk.complete(cid, "review", REVIEW)
    desk.complete(cid, "decide", GRANT)
    assert desk.clock_of(cid)["decided_at"]
    clock.set(shanghai(2026, 12, 7, 9))  # 10 working days after the decision: still in time
    desk.sweep()
    assert [w for w in desk.warnings(instance=cid) if w["kind"] == "late_delivery"] == []
    clock.set(shanghai(2026, 12, 8, 9))
    desk.sweep()
    [late] = [w for w in desk.warnings(instance=cid) if w["kind"] == "late_delivery"]
    assert late["level"] == "red" and "第四十四条" in late["message"] and "仍未送达" in late["message"]
    assert late["id"] in {w["id"] for w in desk.warnings(CENTER, instance=cid)}
    desk.sweep()  # a second sweep raises nothing new
    clock.set(shanghai(2026, 12, 9, 9))
    desk.complete(cid, "deliver", DELIVER)  # delivered late: the same warning says so, no second one
    [after] = [w for w in desk.warnings(instance=cid, state="all") if w["kind"] == "late_delivery"]
    assert after["id"] == late["id"] and "才送达" in after["message"]


def test_a_late_delivery_the_sweep_did_not_see_is_flagged_on_delivery(desk, clock):
    matter = _promised(desk)
    clock.set(shanghai(2026, 11, 23, 9))
    cid = desk.start(matter)["id"]
    for step, data in (("accept", ACCEPT), ("review", REVIEW), ("decide", GRANT)):
        desk.complete(cid, step, data)
    clock.set(shanghai(2026, 12, 9, 9))
    desk.complete(cid, "deliver", DELIVER)
    [late] = [w for w in desk.warnings(instance=cid, state="all") if w["kind"] == "late_delivery"]
    assert late["level"] == "red" and "才送达" in late["message"]


def test_a_late_supplement_notice_counts_as_accepted_on_receipt(desk, clock):
    matter = _promised(desk)
    clock.set(shanghai(2026, 11, 23, 9))
    cid = desk.start(matter)["id"]
    desk.complete(cid, "accept", {"outcome": "supplement", "missing_materials": ["营业执照"]})
    clock.set(shanghai(2026, 11, 30, 9))  # 5 working days: still in time
    desk.sweep()
    assert desk.clock_of(cid)["accepted_on_receipt"] is False
    clock.set(shanghai(2026, 12, 1, 9))  # the 6th working day
    desk.sweep()
    view = desk.clock_of(cid)
    assert view["accepted_on_receipt"] is True and view["events"][-1]["kind"] == "accepted_on_receipt"
    [late] = [w for w in desk.warnings(instance=cid) if w["kind"] == "late_supplement_notice"]
    assert "第三十二条" in late["message"]
    desk.complete(cid, "supplement_notice", {"missing_materials": ["营业执照"], "method": "sms", "notice_no": "BZ-1"})
    assert desk.clock_of(cid)["state"] == "running"  # nothing to wait for: the case was accepted on receipt


def test_no_supplement_by_the_deadline_closes_the_case_as_supplement_timeout(desk, clock):
    matter = _promised(desk)
    clock.set(shanghai(2026, 11, 23, 9))
    started = desk.start(matter)
    cid = started["id"]
    desk.complete(cid, "accept", {"outcome": "supplement", "missing_materials": ["营业执照"]})
    desk.complete(cid, "supplement_notice", {"missing_materials": ["营业执照"], "method": "sms", "notice_no": "BZ-2"})
    assert desk.clock_of(cid)["state"] == "paused"
    check = desk.task(cid, "supplement_check")
    timers = desk.ok("GET", "/timers", desk.ops, params={"instance": cid})["items"]
    [deadline] = [t for t in timers if t["element_id"] == "timer_supplement_check"]
    clock.set(shanghai(2026, 12, 31, 9))
    assert deadline["due_at"][:10] > "2026-12-31"  # 30 working days
    _fire_timers(desk)
    assert desk.case(cid)["state"] == "running"
    clock.set(shanghai(2027, 1, 15, 9))
    _fire_timers(desk)
    case = desk.case(cid)
    assert (case["state"], case["outcome"]) == ("completed", "supplement_timeout")
    assert desk.ok("GET", f"/tasks/{check['id']}", desk.ops)["state"] == "cancelled"
    public = desk.client.post("/api/v1/case-status", json={"case_number": started["case_number"],
                                                          "query_code": started["query_code"]})
    assert public.status_code == 200 and "补正超时" in public.json["status"], public.json
    with desk.app.app_context():
        from app.hall.supervision.models import ClockEvent

        kinds = [e.kind for e in db.session.scalars(db.select(ClockEvent).where(ClockEvent.instance_id == cid))]
    assert kinds[-1] == "stop"
    # no decision, no verdict: 补正超时 is counted apart, never as late (nor on time)
    clock_view = desk.clock_of(cid)
    assert clock_view["on_time"] is None and clock_view["working_days_used"] is None, clock_view


def test_a_refusal_to_accept_after_a_supplement_is_judged_without_the_applicants_wait(desk, clock):
    """补正后不予受理: the applicant took 6 working days to come back, still incomplete, and the window answered that
    day; the wait is the applicant's, so the answer used 0 working days and is on time."""
    matter = _promised(desk)
    clock.set(shanghai(2026, 11, 23, 9))
    cid = desk.start(matter)["id"]
    desk.complete(cid, "accept", {"outcome": "supplement", "missing_materials": ["营业执照"]})
    desk.complete(cid, "supplement_notice", {"missing_materials": ["营业执照"], "method": "sms", "notice_no": "BZ-3"})
    clock.set(shanghai(2026, 12, 1, 10))  # Mon 11-23 → Tue 12-01: six working days of waiting
    desk.complete(cid, "supplement_check", {"outcome": "not_accepted", "reasons": "申请人补正后材料仍不齐全。"})
    desk.complete(cid, "not_accepted", {"reasons": "申请人补正后材料仍不齐全。", "notice_no": "BY-3"})
    case = desk.case(cid)
    assert case["outcome"] == "not_accepted"
    view = desk.clock_of(cid)
    assert view["working_days_used"] == 0 and view["on_time"] is True, view
    assert view["due_date"] >= "2026-12-01"


def test_the_comprehensive_window_accepts_for_every_department(desk, clock):
    """综合窗口: its clerk sees, accepts and owns a case of each of the ten departments; a clerk of another
    department sees none of them."""
    clock.set(shanghai(2026, 11, 23, 9))
    front = desk.hall.holder("综合受理A岗")
    by_department: dict[str, object] = {}
    for matter in desk.matters():
        by_department.setdefault(matter.department_code, matter)
    assert len(by_department) == 10
    for department, matter in by_department.items():
        business_key = f"{matter.code}-front-{department}"
        case = desk.ok("POST", f"/process-definitions/{matter.process_key}/instances", front, status=201,
                       json={"business_key": business_key, "data": {"applicant": "无锡某某有限公司"}})
        [accept] = [t for t in case["tasks"] if t["element_id"] == "accept"]
        assert "综合受理A岗" in accept["other_posts"] and accept["post"] == f"{SHORT[department]}受理A岗"
        queue = desk.ok("GET", "/tasks", front, params={"post": "综合受理A岗", "limit": 200})["items"]
        assert accept["id"] in {t["id"] for t in queue}
        stranger = next(u["username"] for u in HALL["users"] if u.get("window") and u["posts"] != ["综合受理A岗"]
                        and not any(p.startswith(SHORT[department]) for p in u["posts"])
                        and "综合受理A岗" not in u["posts"])
        assert desk.call("GET", f"/tasks/{accept['id']}", stranger)[0] == 404
        desk.complete(case["id"], "accept", ACCEPT, user=front)
        detail = desk.case(case["id"])
        assert (detail["owner"], detail["owner_post"]) == (front, "综合受理A岗"), matter.code


# -- the same rules on diagrams an analyst drew: fewer properties, the rest from the matter record --------------
def _redeploy_as(desk, code: str, new_code: str, *, drop: tuple[str, ...] = (), yaml_extra: str = "",
                 replace: dict[str, str] | None = None, record_replace: dict[str, str] | None = None):
    """A shipped matter uploaded again as a new matter, its diagram without the property lines in `drop` and
    with the texts in `replace` replaced (in its record: `record_replace`)."""
    import io

    from tests.matters.conftest import PROCESSES

    folder = next(p.parent for p in PROCESSES.glob(f"*/{code}.bpmn"))
    bpmn = (folder / f"{code}.bpmn").read_text(encoding="utf-8").replace(code.replace("-", "_"),
                                                                          new_code.replace("-", "_"))
    for old, new in (replace or {}).items():
        assert old in bpmn
        bpmn = bpmn.replace(old, new)
    lines = [line for line in bpmn.splitlines() if not any(d in line for d in drop)]
    assert len(lines) < len(bpmn.splitlines()) or not drop
    record = (folder / f"{code}.yaml").read_text(encoding="utf-8").replace(code, new_code) + yaml_extra
    for old, new in (record_replace or {}).items():
        assert old in record
        record = record.replace(old, new)
    analyst = next(u["username"] for u in HALL["users"] if "analyst" in u["roles"])
    response = desk.client.post("/api/v1/process-definitions", headers=desk.hall.auth(analyst),
                                content_type="multipart/form-data", data={"file": [
                                    (io.BytesIO("\n".join(lines).encode()), f"{new_code}.bpmn"),
                                    (io.BytesIO(record.encode()), f"{new_code}.yaml")]})
    assert response.status_code == 201, response.json
    return _matter(desk, new_code)


def test_a_special_pause_alone_is_bounded_by_the_matter_record(desk, clock):
    """The survey declares only `hall.pause=special` (no step, no max_days): the record's 3 days bound it."""
    matter = _redeploy_as(desk, "32021300CG-XK-0001", "32021300CG-XK-0801",
                          drop=('value="special_procedure"/>', 'name="hall.max_days"'), record_replace=LOCAL_RULE)
    clock.set(shanghai(2026, 11, 23, 9))
    cid = desk.start(matter)["id"]
    desk.complete(cid, "accept", ACCEPT)
    if "review" in _elements(desk, cid):
        desk.complete(cid, "review", REVIEW)
    assert "site_survey" in _elements(desk, cid) and desk.clock_of(cid)["state"] == "paused"
    clock.set(shanghai(2026, 11, 30, 9))  # 5 working days into a survey the record bounds at 3
    desk.sweep()
    [red] = [w for w in desk.warnings(instance=cid) if w["kind"] == "special_overdue"]
    assert red["level"] == "red" and "3 个工作日" in red["message"]


def test_a_forward_step_without_its_clock_property_ends_the_district_clock(desk, clock):
    matter = _redeploy_as(desk, REPORTED, "32021300CZ-XK-0802", drop=('name="hall.forward_clock"',))
    _, _, cid = _forwarded_case(desk, clock, matter)
    view = desk.clock_of(cid)
    assert view["forward_clock"] == "end" and view["state"] == "stopped"
    clock.set(shanghai(2026, 12, 31, 9))
    desk.sweep()
    assert [w for w in desk.warnings(instance=cid) if w["kind"].startswith("case_")] == []


def test_the_matter_record_may_pause_the_district_clock_at_forwarding(desk, clock):
    matter = _redeploy_as(desk, REPORTED, "32021300CZ-XK-0803", drop=('name="hall.forward_clock"',),
                          yaml_extra="forward_clock: pause\n")
    _, _, cid = _forwarded_case(desk, clock, matter)
    view = desk.clock_of(cid)
    assert view["forward_clock"] == "pause" and view["state"] == "paused"


def test_a_matter_record_with_an_unknown_forward_clock_is_refused(desk):
    import io

    from tests.matters.conftest import PROCESSES

    record = (next(PROCESSES.glob(f"*/{REPORTED}.yaml"))).read_text(encoding="utf-8") + "forward_clock: later\n"
    analyst = next(u["username"] for u in HALL["users"] if "analyst" in u["roles"])
    response = desk.client.post("/api/v1/process-definitions", headers=desk.hall.auth(analyst),
                                content_type="multipart/form-data",
                                data={"file": [(io.BytesIO(record.encode()), f"{REPORTED}.yaml")]})
    assert response.status_code == 422 and response.json["details"]["field"] == "forward_clock", response.json


def test_materials_of_the_wrong_shape_are_refused_on_a_step_without_a_form(desk, clock):
    """The acceptance step drawn without a form: the hall still reads its checklist only as lists."""
    matter = _redeploy_as(desk, "32021300CG-XK-0001", "32021300CG-XK-0804",
                          replace={'name="受理" camunda:formKey="accept"': 'name="受理"'})
    clock.set(shanghai(2026, 11, 23, 9))
    cid = desk.start(matter)["id"]
    task = desk.task(cid, "accept")
    clerk = desk.hall.holder(task["post"])
    desk.ok("POST", f"/tasks/{task['id']}/claim", clerk)
    for data, field in (({"outcome": "accept", "materials": 5}, "materials"),
                        ({"outcome": "accept", "materials": [{"name": "x" * 201, "received": True}]}, "materials[0]"),
                        ({"outcome": "accept", "materials": [{"name": "营业执照", "received": "yes"}]}, "materials[0]"),
                        ({"outcome": "supplement", "missing_materials": "营业执照"}, "missing_materials"),
                        ({"outcome": "supplement", "missing_materials": [{"a": 1}]}, "missing_materials")):
        code, body = desk.call("POST", f"/tasks/{task['id']}/complete", clerk, json={"data": data})
        assert code == 422 and body["code"] == "invalid_materials", (data, body)
        assert body["details"]["errors"][0]["field"] == field
    assert desk.case(cid)["state"] == "running" and "accept" in _elements(desk, cid)
