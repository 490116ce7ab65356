"""The case clock and the lights, with the real hall and catalog, as the clock moves across a weekend,
the 2026 National Day holiday and into 2027 (a year chinesecalendar does not know).

One database for the module (the `hall` fixture); each test starts its own cases and looks only at them.
"""

from __future__ import annotations

from datetime import date, timedelta

from app.extensions import db
from app.hall.plugin import GREEN_CHANNEL_LIFT
from tests.supervision.conftest import ACCEPT, DELIVER, GRANT, HALL, REVIEW, SHORT, SITE_SURVEY, shanghai, supervisor_of


def _day(text: str) -> date:
    return date.fromisoformat(text)


def _working_days_after(start: date, holidays: set[date], workdays: set[date], count: int) -> list[date]:
    """Counted by hand: weekdays, minus the holidays, plus the adjusted working days (调休)."""
    days, day = [], start
    while len(days) < count:
        day += timedelta(days=1)
        if (day.weekday() < 5 and day not in holidays) or day in workdays:
            days.append(day)
    return days


def _window_of(username: str) -> int | None:
    return next(u.get("window") for u in HALL["users"] if u["username"] == username)


def _kinds(warnings: list[dict]) -> list[str]:
    return sorted(w["kind"] for w in warnings)


def test_a_promised_case_over_a_weekend_goes_green_yellow_red_and_is_escalated_once(desk, clock):
    """Received Friday 2026-11-27 with 5 working days: due Friday 2026-12-04, the weekend skipped."""
    matter = next(m for m in desk.matters(kind="promised", promised_days=5, green_channel=False)
                  if not m.special_procedures)
    supervise_post = f"{SHORT[matter.department_code]}督查岗"
    clock.set(shanghai(2026, 11, 27))
    case = desk.start(matter)
    assert (case["matter_code"], case["department_code"]) == (matter.code, matter.department_code)
    assert (case["received_on"], case["promised_days"], case["due_date"]) == ("2026-11-27", 5, "2026-12-04")
    assert case["light"] == "green" and case["green_channel"] is False and case["window_no"] is None
    cid = case["id"]

    accepted = desk.complete(cid, "accept", ACCEPT)
    clerk = accepted["completed_by"]
    detail = desk.case(cid)
    assert detail["owner"] == clerk and detail["window_no"] == _window_of(clerk) is not None
    review = desk.task(cid, "review")
    # P3D in working days (tongban.calendar=working_days): Friday 09:00 -> Wednesday at the office's close (17:00)
    assert review["light"] == "green" and review["due_at"].startswith("2026-12-02T17:00")

    clock.set(shanghai(2026, 11, 28))  # Saturday: nothing is close yet
    desk.sweep()
    assert desk.warnings(instance=cid) == []

    clock.set(shanghai(2026, 11, 29, 20))  # Sunday evening: the step's working days have not even begun
    desk.sweep()
    assert desk.warnings(instance=cid) == []

    clock.set(shanghai(2026, 12, 1, 10))  # Tuesday: the review's last working day before its deadline
    desk.sweep()
    [step] = desk.warnings(instance=cid)
    assert (step["kind"], step["level"], step["task_id"], step["post"]) == ("step_yellow", "yellow", review["id"],
                                                                            supervise_post)
    assert desk.task(cid, "review")["light"] == "yellow" and desk.case(cid)["light"] == "green"

    clock.set(shanghai(2026, 12, 2, 10))  # Wednesday morning: the review's last day, not overdue yet
    desk.sweep()
    assert [w["level"] for w in desk.warnings(instance=cid)] == ["yellow"]
    clock.set(shanghai(2026, 12, 2, 17, 30))  # Wednesday after the office closed: past the review's deadline
    desk.sweep()
    [step] = desk.warnings(instance=cid)
    assert (step["kind"], step["level"]) == ("step_red", "red") and "已超期" in step["message"]
    closed = desk.warnings(instance=cid, state="closed")
    assert [(w["kind"], w["note"]) for w in closed] == [("step_yellow", "已升级为红灯")]

    desk.complete(cid, "review", REVIEW)  # the step is done: its warning closes at the next sweep
    desk.sweep()
    assert desk.warnings(instance=cid) == []
    assert desk.case(cid)["light"] == "green"  # Wednesday: two working days left (Thu, Fri), the case is green

    clock.set(shanghai(2026, 12, 3))  # Thursday: one working day left
    desk.sweep()
    assert desk.case(cid)["light"] == "yellow"
    open_now = desk.warnings(instance=cid)
    assert _kinds(open_now) == ["case_yellow", "step_yellow"]  # and the decision (P2D from Wednesday) is close
    yellow = next(w for w in open_now if w["kind"] == "case_yellow")
    assert yellow["post"] == supervise_post and yellow["department_code"] == matter.department_code
    assert matter.name in yellow["message"] and case["business_key"] in yellow["message"]
    assert "2026-12-04" in yellow["message"] and "剩余 1 个工作日" in yellow["message"]
    assert desk.sweep()["raised"] == 0  # once: no duplicates while open
    assert len(desk.warnings(instance=cid)) == 2

    clock.set(shanghai(2026, 12, 5))  # Saturday, after the due date: red, escalated to the department's supervisor
    desk.sweep()
    desk.sweep()
    assert desk.case(cid)["light"] == "red"
    supervisor = supervisor_of(matter.department_code)
    reds = desk.warnings(supervisor, instance=cid, level="red", kind="case_red")
    assert len(reds) == 1
    red = reds[0]
    assert (red["post"], red["department_code"], red["due_date"], red["case_light"]) == (
        supervise_post, matter.department_code, "2026-12-04", "red")
    assert "已超过承诺办结期限" in red["message"] and "2026-12-04" in red["message"]
    assert red["id"] in [w["id"] for w in desk.warnings(supervisor, post=supervise_post)]
    assert red["id"] in [w["id"] for w in desk.warnings(supervisor, department=matter.department_code)]
    assert ("case_yellow", "已升级为红灯") in [(w["kind"], w["note"]) for w in desk.warnings(instance=cid, state="closed")]
    trail = desk.ok("GET", f"/instances/{cid}/audit", desk.ops, params={"limit": 500})["items"]
    raised = [e["details"] for e in trail if e["action"] == "supervision.warning"]
    assert [d["kind"] for d in raised] == ["step_yellow", "step_red", "case_yellow", "step_yellow", "case_red",
                                           "step_red"]
    assert raised[-2]["escalated"] is True and raised[-2]["post"] == supervise_post

    # (g) decided and closed on Monday 2026-12-07: late, six working days from acceptance to the decision; the
    # case's lights close at the decision (its clock stops there), the rest when it closes
    clock.set(shanghai(2026, 12, 7))
    desk.complete(cid, "decide", GRANT)
    done = desk.complete(cid, "deliver", DELIVER)
    assert done["instance_state"] == "completed"
    final = desk.case(cid)
    assert (final["outcome"], final["working_days_used"], final["on_time"], final["light"]) == ("granted", 6, False,
                                                                                                None)
    assert desk.warnings(instance=cid) == []
    assert {w["note"] for w in desk.warnings(instance=cid, state="closed") if w["kind"] == "case_red"} == {
        "已作出决定，办理计时结束"}
    history = desk.clock_of(cid)
    assert history["state"] == "stopped"
    assert [e["kind"] for e in history["events"]] == ["start", "accept", "decide", "stop"]
    assert history["events"][2]["working_days"] == 6 and history["events"][2]["element_id"] == "decide"
    assert history["events"][-1]["element_id"] == "end_granted"


NATIONAL_DAY_2026 = {_day("2026-10-01") + timedelta(days=i) for i in range(7)}
ADJUSTED_2026 = {_day("2026-09-20"), _day("2026-10-10")}


def test_b_a_case_across_the_2026_national_day_holiday(desk, clock):
    """Received Tuesday 2026-09-29: 10-01..10-07 are off, Saturday 10-10 is a working day (调休)."""
    matter = next(m for m in desk.matters(kind="promised", promised_days=5) if not m.special_procedures)
    clock.set(shanghai(2026, 9, 29))
    case = desk.start(matter)
    expected = _working_days_after(_day("2026-09-29"), NATIONAL_DAY_2026, ADJUSTED_2026, 5)
    assert expected == [_day(d) for d in ("2026-09-30", "2026-10-08", "2026-10-09", "2026-10-10", "2026-10-12")]
    assert case["due_date"] == "2026-10-12"
    cid = case["id"]

    def case_warnings():
        return [w for w in desk.warnings(instance=cid) if w["kind"].startswith("case_")]

    clock.set(shanghai(2026, 10, 5))  # in the holiday: seven calendar days gone, one working day used
    desk.sweep()
    assert desk.case(cid)["light"] == "green"
    clock.set(shanghai(2026, 10, 9))  # Friday: 10-10 and 10-12 still to go
    desk.sweep()
    assert desk.case(cid)["light"] == "green" and case_warnings() == []
    clock.set(shanghai(2026, 10, 10))  # the working Saturday: one working day left
    desk.sweep()
    assert desk.case(cid)["light"] == "yellow"
    assert [w["kind"] for w in case_warnings()] == ["case_yellow"]
    clock.set(shanghai(2026, 10, 11))  # Sunday: still one working day left, nothing new
    assert desk.sweep()["raised"] == 0
    clock.set(shanghai(2026, 10, 12, 17))  # the due date itself: still yellow
    desk.sweep()
    assert desk.case(cid)["light"] == "yellow"
    clock.set(shanghai(2026, 10, 13))
    desk.sweep()
    assert desk.case(cid)["light"] == "red"
    assert [w["kind"] for w in case_warnings()] == ["case_red"]
    assert desk.clock_of(cid)["provisional"] is False


def test_c_a_case_received_2026_12_20_is_due_in_january_2027_by_the_fallback_calendar(desk, clock):
    """20 working days from Sunday 2026-12-20: 2027 is not in chinesecalendar, the fallback decides (元旦 off)."""
    matter = next(m for m in desk.matters(kind="promised", promised_days=20))
    clock.set(shanghai(2026, 12, 20))
    case = desk.start(matter)
    expected = _working_days_after(_day("2026-12-20"), {_day("2027-01-01")}, set(), 20)[-1]
    assert case["due_date"] == expected.isoformat() == "2027-01-18"
    cid = case["id"]
    clock_view = desk.clock_of(cid)
    assert clock_view["provisional"] is True and clock_view["fallback_years"] == [2027]
    assert "2027年" in clock_view["note"] and clock_view["working_days_left"] == 20

    # yellow at 20% of the limit: four working days left (2027-01-12: 13, 14, 15, 18)
    clock.set(shanghai(2027, 1, 11))
    desk.sweep()
    assert desk.case(cid)["light"] == "green"
    clock.set(shanghai(2027, 1, 12))
    desk.sweep()
    assert desk.case(cid)["light"] == "yellow"
    clock.set(shanghai(2027, 1, 19))
    desk.sweep()
    assert desk.case(cid)["light"] == "red"
    assert [w["kind"] for w in desk.warnings(instance=cid)] == ["case_red"]
    assert desk.clock_of(cid)["working_days_left"] == -1


def test_d_the_supplement_pauses_and_a_site_survey_no_rule_makes_special_counts(desk, clock):
    matter = next(m for m in desk.matters(kind="promised", promised_days=5)
                  if [p["name"] for p in m.special_procedures] == ["现场勘察"])
    clock.set(shanghai(2026, 11, 30))  # Monday
    case = desk.start(matter)
    cid = case["id"]
    assert case["due_date"] == "2026-12-07"
    missing = [m["name"] for m in matter.materials][:2]
    desk.complete(cid, "accept", {"outcome": "supplement", "missing_materials": missing})
    assert desk.clock_of(cid)["state"] == "running"  # the notice is the center's work: the clock runs
    desk.complete(cid, "supplement_notice", {"missing_materials": missing, "method": "sms", "notice_no": "BZ-1"})
    paused = desk.clock_of(cid)
    assert paused["state"] == "paused" and paused["supplement_count"] == 1 and paused["paused_since"]

    clock.set(shanghai(2026, 12, 3))  # Thursday: the applicant brings the materials, the case is accepted
    desk.sweep()
    desk.complete(cid, "supplement_check", {"outcome": "complete", "received_materials": missing})
    resumed = desk.clock_of(cid)  # the limit counts from the acceptance (Art. 42): the wait before it never counted
    assert (resumed["state"], resumed["accepted_on"], resumed["paused_days"], resumed["due_date"]) == (
        "running", "2026-12-03", 0, "2026-12-10")
    desk.complete(cid, "review", REVIEW)
    # the site survey is not among Art. 45's procedures and the record cites no local rule: its days count
    assert desk.clock_of(cid)["state"] == "running"

    clock.set(shanghai(2026, 12, 11))  # Friday: past 2026-12-10
    desk.sweep()
    assert desk.case(cid)["light"] == "red"
    assert [w["kind"] for w in desk.warnings(instance=cid) if w["kind"].startswith("case_")] == ["case_red"]
    desk.complete(cid, "site_survey", SITE_SURVEY)
    after = desk.clock_of(cid)
    assert (after["paused_days"], after["due_date"]) == (0, "2026-12-10")

    desk.complete(cid, "decide", GRANT)
    desk.complete(cid, "deliver", DELIVER)
    final = desk.clock_of(cid)
    assert (final["state"], final["outcome"], final["on_time"], final["working_days_used"]) == (
        "stopped", "granted", False, 6)  # 12-04, 07, 08, 09, 10, 11
    events = [(e["kind"], e["element_id"], e["working_days"], e["due_date"]) for e in final["events"]]
    assert events == [
        ("start", None, None, "2026-12-07"),  # provisional, from the receipt
        ("pause", "supplement_check", None, "2026-12-07"),
        ("resume", "supplement_check", 3, "2026-12-07"),
        ("accept", "supplement_check", None, "2026-12-10"),
        ("counted", "site_survey", None, "2026-12-10"),
        ("decide", "decide", 6, "2026-12-10"),
        ("stop", "end_granted", 6, "2026-12-10"),
    ]
    assert final["events"][1]["reason"].startswith("补正") and "现场勘察" in final["events"][4]["reason"]
    assert final["supplement_count"] == 1


def test_e_green_channel_cases_get_a_shorter_limit_and_come_first(desk, clock):
    green = next(m for m in desk.matters(kind="promised", green_channel=True) if m.promised_days >= 4)
    plain = next(m for m in desk.matters(kind="promised", green_channel=False, department_code=green.department_code))
    clock.set(shanghai(2026, 11, 25))  # Wednesday
    ordinary = desk.start(green)
    clock.set(shanghai(2026, 11, 25, 9, 5))
    major = desk.start(green, {"green_channel": True})
    refused = desk.start(plain, {"green_channel": True})  # the matter has no green channel
    limit = max(1, green.promised_days // 2)
    assert (major["green_channel"], major["promised_days"]) == (True, limit)
    assert major["due_date"] == _working_days_after(_day("2026-11-25"), set(), set(), limit)[-1].isoformat()
    assert (ordinary["green_channel"], ordinary["promised_days"]) == (False, green.promised_days)
    assert (refused["green_channel"], refused["promised_days"]) == (False, plain.promised_days)
    assert "绿色通道" in desk.clock_of(major["id"])["events"][0]["reason"]

    post = f"{SHORT[green.department_code]}受理A岗"
    listed = desk.ok("GET", "/tasks", desk.ops, params={"post": post, "limit": 500})["items"]
    assert listed[0]["instance_id"] == major["id"] and listed[0]["priority"] == 50 + GREEN_CHANNEL_LIFT
    order = [t["instance_id"] for t in listed]
    assert order.index(major["id"]) < order.index(ordinary["id"])
    for case in (ordinary, major, refused):
        desk.ok("POST", f"/instances/{case['id']}/cancel", desk.ops, json={"reason": "测试结束"})


def test_f_late_first_review_of_a_reported_case_then_cancelled(desk, clock):
    """Art. 43: the first review of a 上报件 within 20 working days; cancelling closes the warnings (g)."""
    matter = desk.matters(kind="reported")[0]
    clock.set(shanghai(2026, 11, 30))
    case = desk.start(matter)
    cid = case["id"]
    desk.complete(cid, "accept", ACCEPT)
    desk.task(cid, "first_review")

    def late():
        return [w for w in desk.warnings(instance=cid) if w["kind"] == "late_first_review"]

    clock.set(shanghai(2026, 12, 28))  # the 20th working day after 11-30
    desk.sweep()
    assert late() == []
    clock.set(shanghai(2026, 12, 29))
    desk.sweep()
    desk.sweep()
    [warning] = late()
    assert (warning["level"], warning["post"]) == ("red", f"{SHORT[matter.department_code]}督查岗")
    assert "初审超过 20 个工作日" in warning["message"] and "第四十三条" in warning["message"]
    assert "2026-12-28" in warning["message"] and matter.name in warning["message"]

    supervisor = supervisor_of(matter.department_code)
    desk.ok("POST", f"/instances/{cid}/cancel", supervisor, json={"reason": "申请人撤回申请"})
    final = desk.case(cid)
    assert (final["state"], final["outcome"], final["light"]) == ("cancelled", "cancelled", None)
    assert final["on_time"] is None and final["working_days_used"] is None  # no decision: not judged (statistics)
    assert desk.warnings(instance=cid) == []
    assert {w["note"] for w in desk.warnings(instance=cid, state="closed")} == {"办件已撤销"}
    assert desk.clock_of(cid)["events"][-1]["reason"] == "办结：撤销"


def test_a_case_of_no_matter_has_no_clock_and_costs_no_matter_lookup(app, desk, clock):
    from sqlalchemy import event

    analyst = next(u["username"] for u in HALL["users"] if "analyst" in u["roles"])
    with open("tests/fixtures/two_step.bpmn", "rb") as handle, \
            open("tests/fixtures/forms/test_accept.json", "rb") as accept, \
            open("tests/fixtures/forms/test_decide.json", "rb") as decide:
        files = [(handle, "two_step.bpmn"), (accept, "test_accept.json"), (decide, "test_decide.json")]
        response = desk.client.post("/api/v1/process-definitions?unknown_posts=allow", data={"file": files},
                                    headers=desk.hall.auth(analyst), content_type="multipart/form-data")
    assert response.status_code in (200, 201), response.json
    clerk = desk.hall.holder("城管局受理A岗")
    first = desk.ok("POST", "/process-definitions/two_step/instances", clerk, json={"data": {}}, status=201)
    assert first["matter_code"] is None and first["due_date"] is None and first["light"] is None
    assert desk.clock_of(first["id"])["state"] == "none"

    statements: list[str] = []

    def seen(conn, cursor, statement, *args):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        second = desk.ok("POST", "/process-definitions/two_step/instances", clerk, json={"data": {}}, status=201)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    lookups = [s for s in statements if any(t in s.lower() for t in ("from matter", "join matter", "clock_event"))]
    assert statements and lookups == []
    for case in (first, second):
        desk.ok("POST", f"/instances/{case['id']}/cancel", desk.ops, json={"reason": "测试结束"})
