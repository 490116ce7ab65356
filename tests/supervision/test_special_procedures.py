"""Special procedures (Art. 45) on a moved clock, through the API (issue 16, item 8).

- a site inspection is not a procedure Art. 45 lists: its days count, unless the matter record (or the element)
  cites the local rule that makes it special; no 特别程序告知书 tells the applicant otherwise;
- a special procedure stops the clock only up to its bound: past it the days count again, the procedure going on;
- a second notice (the head's approval, before the bound is spent, once) extends the bound, and tells the applicant.
"""

from __future__ import annotations

from datetime import date

from tests.supervision.conftest import ACCEPT, REVIEW, SHORT, shanghai, supervisor_of
from tests.supervision.test_hall_rules import LOCAL_RULE, SURVEY, _elements, _redeploy_as, head_of

SURVEYED = "32021300CG-XK-0001"  # 城市道路挖掘许可: 现场勘察 within 3 working days, promised 5


def _to_survey(desk, clock, matter) -> str:
    clock.set(shanghai(2026, 11, 23, 9))  # Monday
    cid = desk.start(matter)["id"]
    desk.complete(cid, "accept", ACCEPT)
    if "review" in _elements(desk, cid):
        desk.complete(cid, "review", REVIEW)
    assert "site_survey" in _elements(desk, cid)
    return cid


def _with_rule(desk, code: str):
    return _redeploy_as(desk, SURVEYED, code, record_replace=LOCAL_RULE)


def _add_working_days(desk, start: str, days: int) -> str:
    from app.calendar import service as calendar

    with desk.app.app_context():
        return calendar.workday_calendar().add_working_days(date.fromisoformat(start), days).date.isoformat()


def _notices(desk, cid, kind: str) -> list[dict]:
    return [d for d in desk.ok("GET", f"/instances/{cid}/documents", desk.ops)["items"] if d["kind"] == kind]


def test_a_site_inspection_no_rule_makes_special_counts_toward_the_limit(desk, clock):
    matter = next(m for m in desk.matters(code=SURVEYED))
    cid = _to_survey(desk, clock, matter)
    before = desk.clock_of(cid)
    assert before["state"] == "running" and before["special"] is None  # the clock did not stop
    assert before["events"][-1]["kind"] == "counted" and "第四十五条" in before["events"][-1]["reason"]
    assert _notices(desk, cid, "special_procedure") == []  # nobody tells the applicant it does not count
    course = desk.ok("GET", f"/instances/{cid}/course", desk.ops)["items"]
    [started] = [e for e in course if e["kind"] == "special_started"]
    assert started["data"]["pauses"] is False and started["data"]["basis"] is None
    clock.set(shanghai(2026, 11, 27, 9))
    desk.complete(cid, "site_survey", SURVEY)
    after = desk.clock_of(cid)
    assert after["paused_days"] == 0 and after["due_date"] == before["due_date"]


def test_a_statutory_procedure_pauses_without_any_rule_cited(desk, clock):
    """专家评审 is one Art. 45 lists: the record need not cite anything."""
    matter = _redeploy_as(desk, SURVEYED, "32021300CG-XK-0811", replace={"现场勘察": "专家评审"},
                          record_replace={"{name: 现场勘察, max_days: 3}": "{name: 专家评审, max_days: 3}"})
    cid = _to_survey(desk, clock, matter)
    state = desk.clock_of(cid)
    assert state["state"] == "paused" and state["special"]["max_days"] == 3
    [notice] = _notices(desk, cid, "special_procedure")
    data = desk.ok("GET", f"/documents/{notice['id']}", desk.ops)["data"]
    assert "第四十五条" in data["basis"] and not data.get("local_rule")


def test_a_local_rule_makes_a_site_inspection_special_and_its_notice_cites_the_rule(desk, clock):
    cid = _to_survey(desk, clock, _with_rule(desk, "32021300CG-XK-0812"))
    state = desk.clock_of(cid)
    assert state["state"] == "paused" and state["special"] == {
        "task_id": desk.task(cid, "site_survey")["id"], "max_days": 3, "extended_days": 0, "running": True}
    [notice] = _notices(desk, cid, "special_procedure")
    data = desk.ok("GET", f"/documents/{notice['id']}", desk.ops)["data"]
    assert data["local_rule"] == "《无锡市城市道路管理办法》第二十条" and data["max_days"] == 3


def test_past_its_bound_a_special_procedure_counts_again(desk, clock):
    cid = _to_survey(desk, clock, _with_rule(desk, "32021300CG-XK-0813"))
    due_before = desk.clock_of(cid)["due_date"]
    clock.set(shanghai(2026, 11, 26, 9))  # 3 working days: still within its bound
    desk.sweep()
    assert desk.clock_of(cid)["state"] == "paused"
    clock.set(shanghai(2026, 11, 30, 9))  # 5 working days into a survey bounded at 3
    desk.sweep()
    state = desk.clock_of(cid)
    assert state["state"] == "running" and state["special"]["running"] is False
    assert state["paused_days"] == 3 and state["due_date"] == _add_working_days(desk, due_before, 3)
    assert state["events"][-1]["kind"] == "resume" and "时限 3 个工作日" in state["events"][-1]["reason"]
    course = [e["kind"] for e in desk.ok("GET", f"/instances/{cid}/course", desk.ops)["items"]]
    assert "special_overrun" in course
    clock.set(shanghai(2026, 12, 2, 9))  # the survey ends two days later: those days counted, not paused
    desk.complete(cid, "site_survey", SURVEY)
    state = desk.clock_of(cid)
    assert state["paused_days"] == 3 and state["special"] is None and state["state"] == "running"
    assert state["due_date"] == _add_working_days(desk, due_before, 3)


def test_a_pause_that_ends_past_its_bound_before_any_sweep_counts_only_its_bound(desk, clock):
    cid = _to_survey(desk, clock, _with_rule(desk, "32021300CG-XK-0814"))
    due_before = desk.clock_of(cid)["due_date"]
    clock.set(shanghai(2026, 12, 1, 9))  # 6 working days, no sweep ran
    desk.complete(cid, "site_survey", SURVEY)
    state = desk.clock_of(cid)
    assert state["paused_days"] == 3 and state["due_date"] == _add_working_days(desk, due_before, 3)
    assert "超过特别程序时限的 3 个工作日" in state["events"][-1]["reason"]


def test_a_second_notice_extends_the_bound_once_by_the_head_before_it_is_spent(desk, clock):
    cid = _to_survey(desk, clock, _with_rule(desk, "32021300CG-XK-0815"))
    due_before = desk.clock_of(cid)["due_date"]
    path = f"/instances/{cid}/special-procedure/extend"
    body = {"days": 4, "reason": "道路下方管线复杂，需会同管线单位勘察"}
    clock.set(shanghai(2026, 11, 25, 9))
    clerk = desk.hall.holder(f"{SHORT['cgj']}受理A岗")
    assert desk.call("POST", path, clerk, json=body)[0] == 403
    assert desk.call("POST", path, supervisor_of("cgj"), json=body)[0] == 403  # the head approves, not 督查
    head = head_of(desk, "cgj")
    for wrong in ({"reason": "x"}, {"days": 0, "reason": "x"}, {"days": 31, "reason": "x"}, {"days": 3}):
        code, refused = desk.call("POST", path, head, json=wrong)
        assert code == 422 and refused["code"], (wrong, refused)
    state = desk.ok("POST", path, head, json=body)
    assert state["special"]["max_days"] == 7 and state["special"]["extended_days"] == 4
    assert desk.call("POST", path, head, json=body)[0] == 409  # once
    notices = _notices(desk, cid, "special_procedure")
    assert len(notices) == 2
    second = desk.ok("GET", f"/documents/{notices[-1]['id']}", desk.ops)
    assert second["title"] == "特别程序告知书（第二次）" and second["data"]["reason"] == body["reason"]
    assert second["data"]["max_days"] == 7 and second["data"]["local_rule"] == "《无锡市城市道路管理办法》第二十条"
    course = desk.ok("GET", f"/instances/{cid}/course", desk.ops)["items"]
    assert [e["data"]["max_days"] for e in course if e["kind"] == "special_extended"] == [7]
    clock.set(shanghai(2026, 12, 1, 9))  # 6 working days: within the extended bound
    desk.sweep()
    assert desk.clock_of(cid)["state"] == "paused"
    desk.complete(cid, "site_survey", SURVEY)
    state = desk.clock_of(cid)
    assert state["paused_days"] == 6 and state["due_date"] == _add_working_days(desk, due_before, 6)


def test_no_second_notice_once_the_bound_is_spent_or_without_a_special_procedure(desk, clock):
    cid = _to_survey(desk, clock, _with_rule(desk, "32021300CG-XK-0816"))
    head = head_of(desk, "cgj")
    path = f"/instances/{cid}/special-procedure/extend"
    clock.set(shanghai(2026, 11, 30, 9))  # 5 working days: spent (the sweep has not run yet)
    code, body = desk.call("POST", path, head, json={"days": 2, "reason": "晚了"})
    assert code == 409 and "届满" in body["message"], body
    desk.sweep()
    code, body = desk.call("POST", path, head, json={"days": 2, "reason": "晚了"})
    assert code == 409, body
    counted = _to_survey(desk, clock, next(m for m in desk.matters(code=SURVEYED)))  # not special: nothing to extend
    assert desk.call("POST", f"/instances/{counted}/special-procedure/extend", head,
                     json={"days": 2, "reason": "x"})[0] == 409
