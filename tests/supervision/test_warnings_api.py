"""Warnings raised at once by a step (a refusal without reasons), the warnings API, and the scheduler's sweep.

The refusal comes from a small test matter (tests/supervision/fixtures) whose `decide` step has no form, so a
refusal can be submitted without reasons; it is uploaded with its record like any matter.
"""

from __future__ import annotations

import time

from app.extensions import db
from tests.supervision.conftest import ACCEPT, FIXTURES, HALL, shanghai, supervisor_of

CODE = "32021300CG-XK-0901"
KEY = "matter_32021300CG_XK_0901"


def _upload(desk) -> None:
    analyst = next(u["username"] for u in HALL["users"] if "analyst" in u["roles"])
    handles = [open(FIXTURES / f"{CODE}{suffix}", "rb") for suffix in (".bpmn", ".yaml")]
    try:
        response = desk.client.post("/api/v1/process-definitions",
                                    data={"file": [(h, h.name.rsplit("/", 1)[-1]) for h in handles]},
                                    headers=desk.hall.auth(analyst), content_type="multipart/form-data")
    finally:
        for handle in handles:
            handle.close()
    assert response.status_code in (200, 201), response.json


def _decide(desk, data: dict) -> dict:
    matter = next(m for m in desk.matters(code=CODE))
    case = desk.start(matter)
    assert case["matter_code"] == CODE and case["due_date"]
    done = desk.complete(case["id"], "decide", data)
    assert done["instance_state"] == "completed"
    return desk.case(case["id"])


def test_a_refusal_without_reasons_is_flagged_red_to_the_departments_supervisor(desk, clock):
    clock.set(shanghai(2026, 11, 26))
    _upload(desk)
    supervisor = supervisor_of("cgj")

    fine = _decide(desk, {"decision": "refuse", "reasons": "不符合户外广告设置规划。"})
    assert fine["outcome"] == "refused" and desk.warnings(instance=fine["id"]) == []
    granted = _decide(desk, {"decision": "grant"})
    assert granted["outcome"] == "granted" and granted["on_time"] is True and granted["working_days_used"] == 0

    for data in ({"decision": "refuse"}, {"decision": "refuse", "reasons": "   "}):
        case = _decide(desk, data)
        assert case["outcome"] == "refused"
        [warning] = desk.warnings(supervisor, instance=case["id"])  # it stays open after the case closed
        assert (warning["kind"], warning["level"], warning["post"], warning["department_code"]) == (
            "refusal_without_reasons", "red", "城管局督查岗", "cgj")
        assert "未说明理由" in warning["message"] and case["business_key"] in warning["message"]
        assert "测试用户外广告设置许可" in warning["message"]
        trail = desk.ok("GET", f"/instances/{case['id']}/audit", desk.ops)["items"]
        [entry] = [e for e in trail if e["action"] == "supervision.warning"]
        assert entry["element_id"] == "decide" and entry["details"]["kind"] == "refusal_without_reasons"

    listed = desk.warnings(supervisor, kind="refusal_without_reasons")
    assert len(listed) == 2 and all(w["state"] == "open" for w in listed)


def test_the_warnings_api_lists_filters_pages_and_closes_with_a_note(desk, clock):
    clock.set(shanghai(2026, 11, 27))
    supervisor = supervisor_of("cgj")
    clerk = desk.hall.holder("城管局受理A岗")
    open_ones = desk.ok("GET", "/supervision/warnings", supervisor, params={"kind": "refusal_without_reasons"})
    assert open_ones["total"] == 2
    page = desk.ok("GET", "/supervision/warnings", supervisor,
                   params={"kind": "refusal_without_reasons", "limit": 1, "offset": 1})
    assert page["total"] == 2 and len(page["items"]) == 1 and page["items"][0]["id"] == open_ones["items"][1]["id"]
    assert desk.ok("GET", "/supervision/warnings", supervisor, params={"department": "fgj"})["total"] == 0
    assert desk.ok("GET", "/supervision/warnings", supervisor, params={"level": "yellow",
                                                                       "kind": "refusal_without_reasons"})["total"] == 0
    warning = open_ones["items"][0]

    # who may do what, and bad input
    assert desk.call("GET", "/supervision/warnings", clerk)[0] == 403
    assert desk.call("GET", "/supervision/warnings", supervisor, params={"level": "orange"})[0] == 422
    assert desk.call("GET", "/supervision/warnings", supervisor, params={"state": "gone"})[0] == 422
    assert desk.call("POST", f"/supervision/warnings/{warning['id']}/close", clerk, json={"note": "x"})[0] == 403
    assert desk.call("POST", f"/supervision/warnings/{warning['id']}/close", desk.ops, json={"note": "x"})[0] == 403
    code, body = desk.call("POST", f"/supervision/warnings/{warning['id']}/close", supervisor, json={})
    assert code == 422 and body["code"] == "invalid"
    code, body = desk.call("POST", f"/supervision/warnings/{warning['id']}/close", supervisor, json={"note": ""})
    assert code == 422
    code, body = desk.call("POST", "/supervision/warnings/999999/close", supervisor, json={"note": "已处理"})
    assert code == 404 and body["code"] == "not_found" and "999999" in body["message"]
    assert desk.ok("GET", "/supervision/warnings", supervisor, params={"kind": "refusal_without_reasons"})["total"] == 2

    note = "已约谈承办人，责令补充不予许可理由并重新送达。"
    closed = desk.ok("POST", f"/supervision/warnings/{warning['id']}/close", supervisor, json={"note": note})
    assert (closed["state"], closed["closed_by"], closed["note"]) == ("closed", supervisor, note)
    assert closed["closed_at"].startswith("2026-11-27T09:00")
    code, body = desk.call("POST", f"/supervision/warnings/{warning['id']}/close", supervisor, json={"note": note})
    assert code == 409 and body["details"]["closed_by"] == supervisor
    assert desk.ok("GET", "/supervision/warnings", supervisor, params={"kind": "refusal_without_reasons"})["total"] == 1
    everything = desk.ok("GET", "/supervision/warnings", supervisor,
                         params={"kind": "refusal_without_reasons", "state": "all"})
    assert everything["total"] == 2
    trail = desk.ok("GET", f"/instances/{warning['instance_id']}/audit", desk.ops)["items"]
    [entry] = [e for e in trail if e["action"] == "supervision.warning_closed"]
    assert entry["actor"] == supervisor and entry["details"]["note"] == note

    code, body = desk.call("GET", "/instances/nosuchcase/clock", desk.ops)
    assert code == 404


def test_the_yellow_threshold_is_configurable(app, desk, clock):
    """TONGBAN_YELLOW_DAYS=3: a five-day case turns yellow with three working days left."""
    matter = next(m for m in desk.matters(kind="promised", promised_days=5) if not m.special_procedures)
    clock.set(shanghai(2026, 11, 30))  # Monday: due Monday 12-07
    case = desk.start(matter)
    assert case["due_date"] == "2026-12-07"
    app.config["YELLOW_DAYS"] = 3
    try:
        clock.set(shanghai(2026, 12, 1))  # Tuesday: Wed, Thu, Fri, Mon left
        desk.sweep()
        assert desk.case(case["id"])["light"] == "green"
        clock.set(shanghai(2026, 12, 2))  # Wednesday: Thu, Fri, Mon left
        desk.sweep()
        assert desk.case(case["id"])["light"] == "yellow"
    finally:
        app.config["YELLOW_DAYS"] = 1
    desk.ok("POST", f"/instances/{case['id']}/cancel", desk.ops, json={"reason": "测试结束"})


def test_the_servers_scheduler_sweeps(app, desk, clock):
    """The scheduler runs the sweep periodically (every 60 s by default; faster here)."""
    from app.hall.models import HallCase
    from app.timers import scheduler

    matter = next(m for m in desk.matters(kind="promised", promised_days=5) if not m.special_procedures)
    clock.set(shanghai(2026, 11, 30))
    case = desk.start(matter)
    desk.complete(case["id"], "accept", ACCEPT)
    clock.set(shanghai(2026, 12, 8))  # past the due date: nobody has swept
    interval = app.config["SUPERVISION_INTERVAL_SECONDS"]
    app.config["SUPERVISION_INTERVAL_SECONDS"] = 0.1
    sched = scheduler.start(app)
    light = None
    try:
        assert sched.get_job("supervision_sweep") is not None
        with app.app_context():
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                light = db.session.get(HallCase, case["id"]).light
                db.session.rollback()
                if light == "red":
                    break
                time.sleep(0.05)
            db.session.remove()
    finally:
        sched.shutdown(wait=True)
        app.config["SUPERVISION_INTERVAL_SECONDS"] = interval
    assert light == "red"
    assert [w["kind"] for w in desk.warnings(instance=case["id"]) if w["kind"].startswith("case_")] == ["case_red"]
    desk.ok("POST", f"/instances/{case['id']}/cancel", desk.ops, json={"reason": "测试结束"})
