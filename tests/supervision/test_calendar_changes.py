"""A calendar change reaches open cases (issue 16, item 7): entering a holiday the State Council announced late
(or removing one) moves the due dates, step timers and lights of the cases whose clocks span it, each audited.
"""

from __future__ import annotations

from datetime import date

from tests.supervision.conftest import ACCEPT, shanghai
from tests.supervision.test_hall_rules import _promised


def _working_day_after(desk, start: str, days: int) -> str:
    from app.calendar import service as calendar

    with desk.app.app_context():
        return calendar.workday_calendar().add_working_days(date.fromisoformat(start), days).date.isoformat()


def _review_timer(desk, cid) -> dict:
    [timer] = [t for t in desk.ok("GET", "/timers", desk.ops, params={"instance": cid, "state": "waiting"})["items"]
               if t["element_id"] == "timer_review"]
    return timer


def test_a_holiday_entered_later_moves_due_dates_step_timers_and_lights(desk, clock):
    matter = _promised(desk)
    clock.set(shanghai(2026, 12, 7, 9))  # Monday
    cid = desk.start(matter)["id"]
    desk.complete(cid, "accept", ACCEPT)
    before = desk.clock_of(cid)
    review = desk.task(cid, "review")
    timer = _review_timer(desk, cid)
    assert review["due_at"] == timer["due_at"]
    clock.set(shanghai(2026, 12, 10, 9))
    untouched = desk.start(matter)["id"]  # received after the changed day: its clock never spanned it
    untouched_due = desk.clock_of(untouched)["due_date"]

    # the district declares Wednesday a holiday (after the cases started)
    desk.ok("PUT", "/calendar/days/2026-12-09", desk.admin, json={"kind": "holiday", "name": "临时调休"}, status=201)
    after = desk.clock_of(cid)
    assert after["due_date"] == _working_day_after(desk, before["due_date"], 1) != before["due_date"]
    assert after["events"][-1]["kind"] == "recomputed" and "2026-12-09" in after["events"][-1]["reason"]
    moved = _review_timer(desk, cid)
    assert moved["due_at"] > timer["due_at"] and moved["id"] == timer["id"]
    assert desk.task(cid, "review")["due_at"] == moved["due_at"]  # the step's due date follows its timer
    audit = desk.ok("GET", f"/instances/{cid}/audit", desk.ops, params={"limit": 200})["items"]
    actions = [e["action"] for e in audit]
    assert "instance.clock_recomputed" in actions and "calendar.recomputed" in actions
    recomputed = next(e for e in audit if e["action"] == "instance.clock_recomputed")
    assert recomputed["details"]["due_date"] == {"from": before["due_date"], "to": after["due_date"]}
    assert desk.clock_of(untouched)["due_date"] == untouched_due
    assert "instance.clock_recomputed" not in [e["action"] for e in desk.ok(
        "GET", f"/instances/{untouched}/audit", desk.ops, params={"limit": 200})["items"]]

    # removing the entry brings everything back
    code = desk.client.delete("/api/v1/calendar/days/2026-12-09", headers=desk.hall.auth(desk.admin)).status_code
    assert code == 204
    assert desk.clock_of(cid)["due_date"] == before["due_date"]
    assert _review_timer(desk, cid)["due_at"] == timer["due_at"]


def test_a_red_case_turns_back_when_a_holiday_gives_it_another_day(desk, clock):
    """A working day before the due date declared a holiday gives the case one more day: a case red since this
    morning is no longer overdue, at once, and its red warning closes."""
    matter = _promised(desk)
    clock.set(shanghai(2026, 12, 14, 9))  # Monday
    cid = desk.start(matter)["id"]
    desk.complete(cid, "accept", ACCEPT)
    due = date.fromisoformat(desk.clock_of(cid)["due_date"])
    day_after = date.fromordinal(due.toordinal() + 1)
    clock.set(shanghai(day_after.year, day_after.month, day_after.day, 9))
    desk.sweep()
    assert desk.case(cid)["light"] == "red"
    assert [w["kind"] for w in desk.warnings(instance=cid) if w["kind"].startswith("case_")] == ["case_red"]
    desk.ok("PUT", "/calendar/days/2026-12-16", desk.admin, json={"kind": "holiday", "name": "临时休息"}, status=201)
    state = desk.clock_of(cid)
    assert state["due_date"] == _working_day_after(desk, due.isoformat(), 1) >= day_after.isoformat()
    assert desk.case(cid)["light"] in ("yellow", "green")
    assert [w for w in desk.warnings(instance=cid) if w["kind"] == "case_red"] == []
