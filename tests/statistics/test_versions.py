"""Two versions of a matter's process compared: average working days, elapsed hours, the 30% speed-up goal."""

from __future__ import annotations

from datetime import date

import pytest

from tests.statistics.conftest import API

FG1 = {"key": "fg_approve", "matter_code": "FG-XK-0001", "department_code": "fgj", "window_no": 2}
FG2 = {"key": "fg_record", "matter_code": "FG-XK-0002", "department_code": "fgj", "window_no": 2}


def compare(client, people, code="FG-XK-0001", query="", status=200):
    response = client.get(f"{API}/matters/{code}/versions?{query}", headers=people.auth("boss"))
    assert response.status_code == status, response.get_json()
    return response.get_json()


@pytest.fixture()
def versions(build):
    """企业投资项目核准 (fg_approve) in three versions.

    v1 (September): 4 completed — 10, 10, 8, 12 working days, 48 hours each, 3 on time; 1 cancelled.
    v2 (October): 3 completed — 6, 7, 8 working days, 24 hours each, all on time; 1 running.
    v3 (November): 1 running, nothing completed yet.
    """
    b = build
    b.matter("FG-XK-0001", "企业投资项目核准", "fgj", "promised", "fg_approve")
    b.matter("FG-XK-0002", "企业投资项目备案", "fgj", "immediate", "fg_record")
    for day, days, on_time in ((7, 10, True), (8, 10, True), (9, 8, True), (10, 12, False)):
        b.case(**FG1, version=1, received_on=date(2026, 9, day), outcome="granted", working_days_used=days,
               on_time=on_time, hours=48)
    b.case(**FG1, version=1, received_on=date(2026, 9, 11), state="cancelled", outcome="cancelled")
    for day, days in ((12, 6), (13, 7), (14, 8)):
        b.case(**FG1, version=2, received_on=date(2026, 10, day), outcome="granted", working_days_used=days,
               on_time=True, hours=24)
    b.case(**FG1, version=2, received_on=date(2026, 10, 15), state="running", light="green")
    b.case(**FG1, version=3, received_on=date(2026, 11, 2), state="running", light="green")
    b.commit()
    return b


def test_the_two_latest_versions_with_completed_cases(client, people, versions):
    body = compare(client, people)
    assert body["matter"] == {"code": "FG-XK-0001", "name": "企业投资项目核准", "kind": "promised",
                              "kind_name": "承诺件", "department": "fgj", "process_key": "fg_approve"}
    assert body["from"] is None and body["to"] is None
    listed = {v["version"]: v for v in body["versions"]}
    assert list(listed) == [1, 2, 3]
    v1, v2, v3 = listed[1], listed[2], listed[3]
    assert {k: v1[k] for k in ("cases", "completed", "on_time", "on_time_rate", "grade", "avg_working_days",
                               "p90_working_days", "avg_elapsed_hours")} == {
        "cases": 5, "completed": 4, "on_time": 3, "on_time_rate": 75.0, "grade": "不合格", "avg_working_days": 10.0,
        "p90_working_days": 12, "avg_elapsed_hours": 48.0}
    assert {k: v2[k] for k in ("cases", "completed", "on_time_rate", "grade", "avg_working_days",
                               "p90_working_days", "avg_elapsed_hours")} == {
        "cases": 4, "completed": 3, "on_time_rate": 100.0, "grade": "优秀", "avg_working_days": 7.0,
        "p90_working_days": 8, "avg_elapsed_hours": 24.0}
    assert (v3["cases"], v3["completed"], v3["avg_working_days"], v3["on_time_rate"]) == (1, 0, None, None)
    assert v2["deployed_at"].endswith("+08:00") and v2["definition_id"]

    assert body["base"]["version"] == 1 and body["compare"]["version"] == 2  # v3 has nothing completed
    assert body["speed_up_percent"] == 30.0  # (10 − 7) / 10: exactly the goal
    assert body["elapsed_speed_up_percent"] == 50.0  # (48 − 24) / 48
    assert (body["goal_percent"], body["goal_basis"], body["goal_met"]) == (30.0, "working_days", True)
    assert body["note"] is None


def test_a_speed_up_short_of_the_goal(client, people, versions):
    versions.case(**FG1, version=2, received_on=date(2026, 10, 16), outcome="granted", working_days_used=9,
                  on_time=True, hours=24)
    versions.commit()
    body = compare(client, people)
    assert body["compare"]["avg_working_days"] == 7.5  # 6, 7, 8, 9
    assert body["speed_up_percent"] == 25.0
    assert body["goal_met"] is False


def test_a_slower_version_is_a_negative_speed_up(client, people, versions):
    body = compare(client, people, query="base=2&compare=1")
    assert body["speed_up_percent"] == -42.86  # (7 − 10) / 7
    assert body["goal_met"] is False


def test_chosen_versions(client, people, versions):
    body = compare(client, people, query="base=1&compare=3")
    assert body["base"]["version"] == 1 and body["compare"]["version"] == 3
    assert body["speed_up_percent"] is None and body["goal_met"] is None and body["goal_basis"] is None
    assert "缺少办结件" in body["note"]
    # one side given: the other is the nearest version with completed cases
    assert compare(client, people, query="compare=2")["base"]["version"] == 1
    assert compare(client, people, query="base=1")["compare"]["version"] == 2


def test_the_period_filters_the_cases(client, people, versions):
    body = compare(client, people, query="from=2026-10-01&to=2026-10-31")
    assert (body["from"], body["to"]) == ("2026-10-01", "2026-10-31")
    assert [v["cases"] for v in body["versions"]] == [0, 4, 0]
    assert body["base"] is None and body["compare"]["version"] == 2
    assert body["speed_up_percent"] is None and body["goal_met"] is None
    assert "不足两个" in body["note"]
    assert [v["cases"] for v in compare(client, people, query="to=2026-09-30")["versions"]] == [5, 0, 0]


def test_an_immediate_matter_compares_elapsed_hours(client, people, versions):
    """即办件 take 0 working days: the speed-up falls back to elapsed hours."""
    for version, hours in ((1, 4), (1, 4), (2, 2), (2, 2)):
        versions.case(**FG2, version=version, received_on=date(2026, 10, 12), outcome="granted",
                      working_days_used=0, on_time=True, hours=hours)
    versions.commit()
    body = compare(client, people, code="FG-XK-0002")
    assert (body["base"]["avg_working_days"], body["compare"]["avg_working_days"]) == (0.0, 0.0)
    assert body["speed_up_percent"] is None
    assert body["elapsed_speed_up_percent"] == 50.0
    assert (body["goal_basis"], body["goal_met"]) == ("elapsed_hours", True)
    assert "小时" in body["note"]


def test_a_matter_without_cases(client, people, versions):
    versions.definition("fg_record", 2)
    versions.commit()
    body = compare(client, people, code="FG-XK-0002")
    assert [(v["version"], v["cases"]) for v in body["versions"]] == [(1, 0), (2, 0)]
    assert body["base"] is None and body["compare"] is None and body["goal_met"] is None


def test_unknown_matter_and_versions(client, people, versions):
    body = compare(client, people, code="NO-SUCH-1", status=404)
    assert body["code"] == "not_found" and "NO-SUCH-1" in body["message"]
    body = compare(client, people, query="base=7", status=404)
    assert "版本 7" in body["message"] and body["details"]["versions"] == [1, 2, 3]
    body = compare(client, people, query="base=2&compare=2", status=422)
    assert "不能相同" in body["message"]


def test_the_goal_is_configurable(client, people, versions, app):
    app.config["STATISTICS_SPEED_UP_GOAL"] = 40
    try:
        body = compare(client, people)
    finally:
        app.config.pop("STATISTICS_SPEED_UP_GOAL")
    assert (body["goal_percent"], body["speed_up_percent"], body["goal_met"]) == (40.0, 30.0, False)
