"""Real cases, run through the API on the real hall and catalog, show up in the statistics.

The case clock (app/supervision) fills the columns the statistics read: the acceptor's window, the department,
the matter, the received date, the outcome, the working days used, on time, the supplement notices.
"""

from __future__ import annotations

import pytest

from tests.matters.conftest import HALL, seeded_module
from tests.matters.test_every_matter_runs import MATTERS, Api, run_case

TODAY = "from=2026-11-25&to=2026-11-25"  # the `clock` fixture's day
IMMEDIATE = next(m for m in MATTERS if m["code"] == "32021300FG-BA-0002")  # 即办件, 0 working days
PROMISED = next(m for m in MATTERS if m["code"] == "32021300FG-BA-0001")  # 承诺件, 3 working days
READER = next(u["username"] for u in HALL["users"] if "center_supervisor" in u["roles"])  # 中心督查: the center
FGJ_READER = next(u["username"] for u in HALL["users"] if "supervisor" in u["roles"]
                  and any(p.startswith("发改局") for p in u.get("posts", [])))


@pytest.fixture(scope="module")
def hall(make_app):
    with seeded_module(make_app) as seeded:
        yield seeded


def test_real_cases_are_counted(app, hall, clock):
    client = app.test_client()
    api = Api(hall, client=client)
    for matter, scenario in ((IMMEDIATE, "granted"), (IMMEDIATE, "not_accepted"), (PROMISED, "supplemented"),
                             (PROMISED, "refused")):
        assert run_case(api, matter, scenario)["case"]["state"] == "completed"
    clerk = hall.holder("发改局受理A岗")  # window 2
    window = next(u["window"] for u in HALL["users"] if u["username"] == clerk)
    status, running = api.call("POST", "/process-definitions/matter_32021300FG_BA_0001/instances", clerk,
                               json={"business_key": "FG-BA-0001/open", "data": {"applicant": "无锡某某有限公司"}})
    assert status == 201
    accept = running["tasks"][0]
    assert api.call("POST", f"/tasks/{accept['id']}/claim", clerk)[0] == 200
    data = {"outcome": "accept", "receipt_no": "SJ-0002", "materials": [
        {"name": m["name"], "received": True, "originals": m.get("originals", 0), "copies": m.get("copies", 0)}
        for m in PROMISED["materials"]]}
    assert api.call("POST", f"/tasks/{accept['id']}/complete", clerk, json={"data": data})[0] == 200

    def report(path, reader=READER):
        response = client.get(f"/api/v1/statistics{path}", headers=hall.auth(reader))
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    windows = {w["no"]: w for w in report(f"/windows?{TODAY}")["items"]}
    assert len(windows) == 23
    # 发改局's supervisor: 发改局's windows only (all five cases are 发改局's)
    theirs = report(f"/windows?{TODAY}", FGJ_READER)["items"]
    assert {w["department"] for w in theirs} == {"fgj"} and sum(w["received"] for w in theirs) == 5
    mine = windows[window]
    assert (mine["received"], mine["completed"], mine["open"]) == (5, 4, 1)
    assert (mine["refusals"], mine["not_accepted"], mine["supplements"]) == (1, 1, 1)
    # four decided cases are too few to grade a window (TONGBAN_MIN_GRADED_CASES, 10 by default)
    assert (mine["on_time"], mine["on_time_rate"], mine["grade"]) == (4, 100.0, None)
    assert mine["decided"] == 4 and "样本不足" in mine["grade_note"]
    app.config["STATISTICS_MIN_GRADED_CASES"] = 4
    assert {w["no"]: w for w in report(f"/windows?{TODAY}")["items"]}[window]["grade"] == "优秀"
    assert (mine["avg_working_days"], mine["p90_working_days"], mine["overdue"]) == (0.0, 0, 0)
    assert mine["daily_traffic"] == 5.0 and mine["merge_candidate"] is False
    assert sum(w["received"] for w in windows.values()) == 5

    fgj = next(d for d in report(f"/departments?{TODAY}")["items"] if d["code"] == "fgj")
    assert (fgj["received"], fgj["completed"], fgj["on_time_rate"]) == (5, 4, 100.0)
    matters = {m["code"]: m for m in report(f"/matters?{TODAY}&department=fgj")["items"]}
    assert (matters[IMMEDIATE["code"]]["received"], matters[PROMISED["code"]]["received"]) == (2, 3)
    assert matters[PROMISED["code"]]["kind_name"] == "承诺件"
    summary = report(f"/summary?{TODAY}")
    assert (summary["received"], summary["completed"]) == (5, 4)
    assert {k["kind"]: k["received"] for k in summary["by_kind"]}["immediate"] == 2

    versions = report(f"/matters/{PROMISED['code']}/versions")
    assert [(v["version"], v["cases"], v["completed"]) for v in versions["versions"]] == [(1, 3, 2)]
    assert versions["compare"]["version"] == 1 and versions["base"] is None and versions["goal_met"] is None
    assert versions["compare"]["avg_elapsed_hours"] == 0.0  # the clock did not move
