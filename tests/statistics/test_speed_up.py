"""Proving 提速 (issue 16, item 9): a matter record's versions, the speed-up across them, and every figure a
department supervisor sees scoped to their departments — through the API on the real hall, on a moved clock.

医疗机构执业登记 (卫生局, a 承诺件) has its promised limit cut from 20 to 10 working days on Friday 2026-11-20, with a
reason and no new diagram. Cases received before keep version 1 (20 days) even when decided after the change;
cases received from that day run under version 2 (10 days). 2026-11 has no holiday: working days are Mon–Fri.
"""

from __future__ import annotations

import csv
import io

import pytest

from app.extensions import db
from tests.matters.conftest import HALL, seeded_module
from tests.supervision.conftest import ACCEPT, DELIVER, GRANT, REVIEW, SITE_SURVEY, Desk, shanghai, supervisor_of

CHANGED = "32021300WS-XK-0002"  # 医疗机构执业登记: 卫生局, promised 20 of statutory 45 working days
FGJ_MATTER = "32021300FG-XK-0002"  # 发改局, a 承诺件 of 5 working days
OTHER = "32021300RL-XK-0002"  # 人劳局: a change taking effect later
CENTER = next(u["username"] for u in HALL["users"] if "center_supervisor" in u["roles"])
ANALYST = next(u["username"] for u in HALL["users"] if "analyst" in u["roles"])
FGJ_BOSS, WSJ_BOSS = supervisor_of("fgj"), supervisor_of("wsj")
STEPS = {"accept": ACCEPT, "review": REVIEW, "site_survey": SITE_SURVEY}
REASON = "流程再造：现场勘察与审核并联，承诺时限由 20 个工作日压缩为 10 个工作日"


@pytest.fixture(scope="module")
def hall(make_app):
    with seeded_module(make_app) as seeded:
        yield seeded


@pytest.fixture()
def desk(app, hall) -> Desk:
    return Desk(app, hall)


def _matter(desk, code):
    return next(m for m in desk.matters() if m.code == code)


def run_case(desk, clock, code: str, received, decided) -> str:
    """Received and accepted (reviewed, surveyed) on `received`, decided on `decided`, delivered then."""
    clock.set(received)
    cid = desk.start(_matter(desk, code))["id"]
    for step in ("accept", "review", "site_survey"):
        if any(t["element_id"] == step and t["state"] != "completed" for t in desk.case(cid)["tasks"]):
            desk.complete(cid, step, STEPS[step])
    clock.set(decided)
    desk.complete(cid, "decide", GRANT)
    desk.complete(cid, "deliver", DELIVER)
    return cid


def change(desk, code: str, user: str = ANALYST, status: int = 200, **body):
    code_, answer = desk.call("PATCH", f"/matters/{code}", user, json=body)
    assert code_ == status, answer
    return answer


def report(desk, user: str, path: str = "/statistics/speed-up", status: int = 200, **params):
    code, body = desk.call("GET", path, user, params=params)
    assert code == status, body
    return body


def test_a_promised_limit_cut_from_20_to_10_days_is_proved(desk, clock):
    """The whole story: the change and its history, cases attributed to their version, the speed-up per matter and
    for the center, and a department supervisor's figures scoped to their departments."""
    # version 1 (20 days): received 11-02, decided 11-18 (12 working days); received 11-19, decided 11-27 after the
    # change (6 working days) — still version 1's case
    a1 = run_case(desk, clock, CHANGED, shanghai(2026, 11, 2, 9), shanghai(2026, 11, 18, 10))
    clock.set(shanghai(2026, 11, 19, 9))
    a2_started = desk.start(_matter(desk, CHANGED))
    a2 = a2_started["id"]
    for step in ("accept", "review", "site_survey"):
        desk.complete(a2, step, STEPS[step])
    # a 发改局 case (the 发改局 supervisor's figures), received 11-19, decided 11-23 (2 working days)
    f1 = run_case(desk, clock, FGJ_MATTER, shanghai(2026, 11, 19, 9), shanghai(2026, 11, 23, 10))

    # the change, on Friday 11-20: a reason is required; the limit is cut from 20 to 10
    clock.set(shanghai(2026, 11, 20, 15))
    refused = change(desk, CHANGED, status=422, changes={"promised_days": 10})
    assert "理由" in refused["message"]
    version = change(desk, CHANGED, changes={"promised_days": 10}, reason=REASON)
    assert (version["version"], version["state"], version["effective_from"]) == (2, "in_force", "2026-11-20")
    assert version["changed_by"] == ANALYST and version["reason"] == REASON
    assert version["changes"] == [{"field": "promised_days", "before": 20, "after": 10}]
    guide = desk.ok("GET", f"/matters/{CHANGED}", desk.ops)
    assert (guide["promised_days"], guide["version"]) == (10, 2)

    history = desk.ok("GET", f"/matters/{CHANGED}/history", FGJ_BOSS)  # any signed-in user
    assert history["version"] == 2 and [v["version"] for v in history["items"]] == [2, 1]
    newest, first = history["items"]
    assert (newest["promised_days"], newest["statutory_days"], newest["state"]) == (10, 45, "in_force")
    assert newest["changes"] == [{"field": "promised_days", "before": 20, "after": 10}]
    assert newest["changed_at"].startswith("2026-11-20T15:00") and newest["changed_at"].endswith("+08:00")
    assert (first["promised_days"], first["state"], first["changes"]) == (20, "superseded", [])
    assert first["changed_by"] == "system" and first["effective_from"] <= "2026-11-02"

    # version 2 (10 days): received 11-23, decided 11-27 (4) and 12-01 (6)
    b1 = run_case(desk, clock, CHANGED, shanghai(2026, 11, 23, 9), shanghai(2026, 11, 27, 10))
    b2 = run_case(desk, clock, CHANGED, shanghai(2026, 11, 23, 10), shanghai(2026, 12, 1, 10))
    clock.set(shanghai(2026, 11, 27, 11))  # the version-1 case received before the change is decided now
    desk.complete(a2, "decide", GRANT)
    desk.complete(a2, "deliver", DELIVER)

    from app.hall.models import HallCase

    with desk.app.app_context():
        cases = {c.instance_id: c for c in db.session.scalars(db.select(HallCase).where(
            HallCase.instance_id.in_([a1, a2, b1, b2, f1])))}
        db.session.remove()
    assert [(cases[c].matter_version, cases[c].promised_days, cases[c].working_days_used) for c in (a1, a2, b1, b2)] \
        == [(1, 20, 12), (1, 20, 6), (2, 10, 4), (2, 10, 6)]
    assert cases[f1].matter_version == 1 and cases[f1].working_days_used == 2
    clock.set(shanghai(2026, 12, 1, 17))

    # the speed-up per matter: promised −50%, actual (12 + 6) / 2 = 9 → (4 + 6) / 2 = 5 days, 44.44% faster
    body = report(desk, CENTER)
    assert (body["from"], body["to"], body["departments"], body["goal_percent"]) == (None, None, None, 30.0)
    [item] = [i for i in body["items"] if i["code"] == CHANGED]
    assert item["limit_changed"] is True and item["department"] == "wsj"
    before, after = item["before"], item["after"]
    assert (before["versions"], before["promised_days"], before["statutory_days"]) == ([1], 20, 45)
    assert (before["received"], before["decided"], before["avg_working_days"]) == (2, 2, 9.0)
    assert (after["versions"], after["effective_from"], after["promised_days"]) == ([2], "2026-11-20", 10)
    assert (after["received"], after["decided"], after["avg_working_days"]) == (2, 2, 5.0)
    assert (item["promised_speed_up_percent"], item["actual_speed_up_percent"], item["goal_met"]) == (50.0, 44.44, True)
    assert [(v["version"], v["promised_days"], v["received"], v["decided"], v["avg_working_days"])
            for v in item["versions"]] == [(1, 20, 2, 2, 9.0), (2, 10, 2, 2, 5.0)]
    assert item["versions"][1]["reason"] == REASON

    # the center: the only matter whose limit changed
    center = body["center"]
    assert (center["matters_changed"], center["promised_days_before"], center["promised_days_after"]) == (1, 20, 10)
    assert (center["promised_speed_up_percent"], center["matters_compared"]) == (50.0, 1)
    assert (center["decided_before"], center["decided_after"]) == (2, 2)
    assert (center["avg_working_days_before"], center["avg_working_days_after"]) == (9.0, 5.0)
    assert center["actual_speed_up_percent"] == 44.44
    assert (center["promised_goal_met"], center["actual_goal_met"], center["goal_met"]) == (True, True, True)

    # the period: from the change on, the era in force on `from` is version 2 — nothing to compare
    later = report(desk, CENTER, **{"from": "2026-11-20"})
    [item] = [i for i in later["items"] if i["code"] == CHANGED]
    assert item["limit_changed"] is False and item["before"] is None and item["after"]["received"] == 2
    assert later["center"]["matters_changed"] == 0 and later["center"]["goal_met"] is None
    # up to the day before the change, version 2 is not in force yet
    assert not [i for i in report(desk, CENTER, to="2026-11-19")["items"] if i["code"] == CHANGED]

    # 卫生局's supervisor: their matter; 发改局's: none of it, and only 发改局's cases anywhere
    assert report(desk, WSJ_BOSS)["center"]["promised_speed_up_percent"] == 50.0
    mine = report(desk, FGJ_BOSS)
    assert mine["departments"] == ["fgj"] and mine["items"] == [] and mine["center"]["matters_changed"] == 0
    assert report(desk, FGJ_BOSS, status=403, department="wsj")["details"]["your_departments"] == ["fgj"]
    assert report(desk, CENTER, department="fgj")["items"] == []

    period = {"from": "2026-11-01", "to": "2026-11-30"}
    whole = report(desk, CENTER, "/statistics/summary", **period)
    scoped = report(desk, FGJ_BOSS, "/statistics/summary", **period)
    assert whole["received"] == 5 and scoped["received"] == 1 and scoped["decided"] == 1
    departments = report(desk, FGJ_BOSS, "/statistics/departments", **period)["items"]
    assert [(d["code"], d["received"]) for d in departments] == [("fgj", 1)]
    windows = report(desk, FGJ_BOSS, "/statistics/windows", **period)
    assert {w["department"] for w in windows["items"]} == {"fgj"}
    assert sum(w["received"] for w in windows["items"]) + windows["unassigned"]["received"] == 1
    matters = report(desk, FGJ_BOSS, "/statistics/matters", **period)["items"]
    assert {m["department"] for m in matters} == {"fgj"} and sum(m["received"] for m in matters) == 1
    assert report(desk, FGJ_BOSS, "/statistics/matters", status=403, department="wsj", **period)
    assert report(desk, FGJ_BOSS, f"/statistics/matters/{CHANGED}/versions", status=403)
    assert report(desk, FGJ_BOSS, "/statistics/windows", status=403, department="wsj")
    assert report(desk, WSJ_BOSS, f"/statistics/matters/{CHANGED}/versions")["versions"][0]["cases"] == 4
    # ops and 中心督查 see the whole center
    assert report(desk, desk.ops, "/statistics/summary", **period)["received"] == 5

    # the board and its exports: the same scope
    from app.web.models import WebPassword
    from tests.web.test_access import signed_in

    with desk.app.app_context():
        db.session.execute(db.update(WebPassword).values(demo=False))
        db.session.commit()
        db.session.remove()
    boss = signed_in(desk.app, FGJ_BOSS)
    page = boss.get("/board?from=2026-11-01&to=2026-11-30").get_data(as_text=True)
    assert 'data-testid="speed-up"' in page and f'data-speed-up="{CHANGED}"' not in page
    rows = list(csv.reader(io.StringIO(boss.get("/board/export.csv?report=departments&from=2026-11-01&to=2026-11-30")
                                       .get_data(as_text=True).lstrip("\ufeff"))))
    assert [r[0] for r in rows[1:]] == ["fgj"] and rows[1][2] == "1"
    rows = list(csv.reader(io.StringIO(boss.get("/board/export.csv?report=matters&from=2026-11-01&to=2026-11-30")
                                       .get_data(as_text=True).lstrip("\ufeff"))))
    assert all(r[0].startswith("32021300FG") for r in rows[1:]) and sum(int(r[4]) for r in rows[1:]) == 1
    center_board = signed_in(desk.app, CENTER).get("/board").get_data(as_text=True)
    assert f'data-speed-up="{CHANGED}"' in center_board and "20 → 10" in center_board
    rows = list(csv.reader(io.StringIO(signed_in(desk.app, CENTER).get("/board/export.csv?report=speed_up")
                                       .get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[1][:5] == [CHANGED, "医疗机构执业登记", "卫生局", "20", "10"] and rows[-1][1] == "全中心"


def test_a_change_taking_effect_later(desk, clock):
    """A limit changed to take effect on a later date: pending until then; a case received on that date runs under
    it before the periodic job makes it the guide's record; the dates never go back."""
    clock.set(shanghai(2026, 12, 2, 10))  # Wednesday
    matter = _matter(desk, OTHER)
    original = matter.promised_days
    assert change(desk, OTHER, status=422, changes={"promised_days": 5}, reason="压缩时限",
                  effective_from="2026-12-01")["details"]["field"] == "effective_from"  # in the past
    pending = change(desk, OTHER, changes={"promised_days": 5}, reason="压缩时限", effective_from="2026-12-07")
    assert (pending["state"], pending["effective_from"], pending["applied_at"]) == ("pending", "2026-12-07", None)
    assert desk.ok("GET", f"/matters/{OTHER}", desk.ops)["promised_days"] == original  # still in force
    early = change(desk, OTHER, status=422, changes={"hours": "周一至周五"}, reason="调整", effective_from="2026-12-04")
    assert "早于最新版本" in early["message"]
    # a redeploy of the yaml would undo the pending change on its date: refused
    from app.definitions import flows
    from app.errors import Invalid
    from tests.matters.conftest import PROCESSES

    path = next(PROCESSES.glob(f"*/{OTHER}.yaml"))
    changed = path.read_text(encoding="utf-8").replace("\nconsultation: ", "\nconsultation: 另询窗口；", 1)
    with desk.app.app_context():
        with pytest.raises(Invalid) as refused:
            flows.deploy([flows.Upload(path.relative_to(PROCESSES).as_posix(), changed.encode())], "system",
                         source="api")
        db.session.rollback()
        db.session.remove()
    assert "待生效" in refused.value.message

    clock.set(shanghai(2026, 12, 4, 9))  # Friday: still the old limit
    before = desk.start(matter)["id"]
    clock.set(shanghai(2026, 12, 7, 9))  # Monday: the new limit, though no job has run yet
    after = desk.start(matter)["id"]
    assert [(desk.clock_of(c)["promised_days"], desk.clock_of(c)["matter_version"]) for c in (before, after)] \
        == [(original, 1), (5, 2)]
    from app.hall.models import HallCase
    from app.hall.plugin import apply_matter_versions

    with desk.app.app_context():
        assert [db.session.get(HallCase, c).matter_version for c in (before, after)] == [1, 2]
        assert apply_matter_versions() == 1
        db.session.remove()
    history = desk.ok("GET", f"/matters/{OTHER}/history", desk.ops)
    assert [(v["version"], v["state"]) for v in history["items"]] == [(2, "in_force"), (1, "superseded")]
    assert desk.ok("GET", f"/matters/{OTHER}", desk.ops)["promised_days"] == 5
    # back to the original limit: the record's limit did not change over the whole time
    change(desk, OTHER, changes={"promised_days": original}, reason="恢复原承诺时限")
    item = next(i for i in report(desk, CENTER)["items"] if i["code"] == OTHER)
    assert item["limit_changed"] is False and [v["promised_days"] for v in item["versions"]] == [original, 5, original]


def test_refusals(desk, clock):
    clock.set(shanghai(2026, 12, 8, 10))
    assert change(desk, "32021300FG-XX-9999", status=404, changes={"promised_days": 1}, reason="x")["code"] \
        == "not_found"
    assert desk.call("GET", "/matters/32021300FG-XX-9999/history", desk.ops)[0] == 404
    assert "理由" in change(desk, CHANGED, status=422, changes={"promised_days": 8}, reason="   ")["message"]
    assert change(desk, CHANGED, status=422, changes={"department": "fgj"}, reason="调整")["details"]["field"] \
        == "department"
    too_long = change(desk, CHANGED, status=422, changes={"promised_days": 60}, reason="调整")
    assert "不能超过法定时限" in too_long["message"]
    same = change(desk, CHANGED, status=422, changes={"promised_days": 10}, reason="调整")
    assert "相同" in same["message"]
    assert change(desk, CHANGED, FGJ_BOSS, status=403, changes={"promised_days": 8}, reason="调整")
    assert desk.client.get(f"/api/v1/matters/{CHANGED}/history").status_code == 401
