"""Statistics per window, department, matter and the center, worked out by hand from the `october` cases."""

from __future__ import annotations

import re

import pytest

from app.hall.statistics.service import p90
from tests.statistics.conftest import API

OCTOBER = "from=2026-10-01&to=2026-10-31"


def get(client, people, path, user="center"):
    response = client.get(f"{API}{path}", headers=people.auth(user))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def by(items, key):
    return {item[key]: item for item in items}


ZERO = {"received": 0, "completed": 0, "open": 0, "cancelled": 0, "on_time": 0, "on_time_rate": None,
        "avg_working_days": None, "p90_working_days": None, "overdue": 0, "supplements": 0, "refusals": 0,
        "not_accepted": 0, "green_channel": 0, "daily_traffic": 0.0, "grade": None}


def figures(item):
    return {key: item[key] for key in ZERO}


def test_p90_is_the_nearest_rank():
    assert p90([]) is None
    assert p90([5]) == 5
    assert p90(list(range(1, 11))) == 9  # rank 9 of 10
    assert p90(list(range(1, 21))) == 18
    # the same from a histogram {value: cases}, as the reports read it from the database
    assert p90({}) is None and p90({5: 1}) == 5
    assert p90({v: 1 for v in range(1, 11)}) == 9 and p90({1: 18, 30: 2}) == 1 and p90({1: 17, 30: 3}) == 30
    assert p90(list(range(1, 71))) == 63  # 0.9 × 70 is not quite 63 in floating point; the rank is
    assert p90([0, 2, 4, 10]) == 10  # rank ⌈3.6⌉ = 4


def test_windows_every_window_with_exact_figures(client, people, october):
    body = get(client, people, f"/windows?{OCTOBER}")
    assert body["from"] == "2026-10-01" and body["to"] == "2026-10-31"
    assert body["working_days"] == 18 and body["traffic_working_days"] == 18
    assert body["merge_below"] == 2.0
    assert [g["grade"] for g in body["grade_thresholds"]] == ["优秀", "良好", "合格", "不合格"]
    assert [g["min_on_time_rate"] for g in body["grade_thresholds"]] == [98.0, 95.0, 90.0, 0.0]
    items = body["items"]
    assert [w["no"] for w in items] == list(range(1, 24))
    windows = by(items, "no")

    assert windows[2]["name"] == "发改局1号窗口" and windows[2]["department"] == "fgj"
    assert windows[2]["department_name"] == "区发改局"
    assert figures(windows[2]) == {
        "received": 7, "completed": 4, "open": 2, "cancelled": 1, "on_time": 3, "on_time_rate": 75.0,
        "avg_working_days": 4.0, "p90_working_days": 10, "overdue": 2, "supplements": 3, "refusals": 1,
        "not_accepted": 1, "green_channel": 1, "daily_traffic": 0.39, "grade": "不合格"}
    assert windows[2]["merge_candidate"] is True

    assert figures(windows[3]) == {
        "received": 40, "completed": 40, "open": 0, "cancelled": 0, "on_time": 39, "on_time_rate": 97.5,
        "avg_working_days": 4.5, "p90_working_days": 8, "overdue": 1, "supplements": 0, "refusals": 0,
        "not_accepted": 0, "green_channel": 0, "daily_traffic": 2.22, "grade": "良好"}
    assert windows[3]["merge_candidate"] is False

    assert figures(windows[7]) == {**ZERO, "received": 1, "completed": 1, "on_time": 1, "on_time_rate": 100.0,
                                   "avg_working_days": 1.0, "p90_working_days": 1, "daily_traffic": 0.06,
                                   "grade": "优秀"}
    assert windows[1]["name"] == "综合窗口" and windows[1]["department"] is None
    for no in set(range(1, 24)) - {2, 3, 7}:
        assert figures(windows[no]) == ZERO, no
        assert windows[no]["merge_candidate"] is True  # no traffic at all
    assert body["merge_candidates"] == [no for no in range(1, 24) if no != 3]
    assert figures(body["unassigned"]) == {**ZERO, "received": 1, "open": 1, "daily_traffic": 0.06}


def test_merge_threshold_is_a_query_argument(client, people, october):
    body = get(client, people, f"/windows?{OCTOBER}&merge_below=2.5")
    assert body["merge_below"] == 2.5
    assert by(body["items"], "no")[3]["merge_candidate"] is True  # 40 / 18 = 2.22 < 2.5
    assert len(body["merge_candidates"]) == 23
    body = get(client, people, f"/windows?{OCTOBER}&merge_below=0")
    assert body["merge_candidates"] == []


def test_windows_of_one_department(client, people, october):
    body = get(client, people, f"/windows?{OCTOBER}&department=fgj")
    assert [w["no"] for w in body["items"]] == [2, 3]
    assert body["unassigned"]["received"] == 0  # the online case belongs to 城管局
    response = client.get(f"{API}/windows?department=nope", headers=people.auth("center"))
    assert response.status_code == 404 and "nope" in response.get_json()["message"]


def test_grade_thresholds_are_configurable(client, people, october, app):
    app.config["STATISTICS_GRADE_THRESHOLDS"] = (80, 70, 60)
    try:
        body = get(client, people, f"/windows?{OCTOBER}")
    finally:
        app.config.pop("STATISTICS_GRADE_THRESHOLDS")
    assert [g["min_on_time_rate"] for g in body["grade_thresholds"]] == [80.0, 70.0, 60.0, 0.0]
    windows = by(body["items"], "no")
    assert windows[2]["grade"] == "良好"  # 75 %
    assert windows[3]["grade"] == "优秀"


def test_grade_boundaries(client, people, build):
    """At a threshold is that grade; just below it is the next one."""
    from datetime import date


    build.matter("FG-XK-0001", "企业投资项目核准", "fgj", "promised", "fg_approve")
    common = {"key": "fg_approve", "matter_code": "FG-XK-0001", "department_code": "fgj",
              "received_on": date(2026, 10, 12), "working_days_used": 1}
    # window 2: 49 of 50 on time = 98 % → 优秀; window 3: 19 of 20 = 95 % → 良好; window 4: 9 of 10 → 合格;
    # window 5: 8 of 9 = 88.9 % → 不合格
    for window, (total, late) in {2: (50, 1), 3: (20, 1), 4: (10, 1), 5: (9, 1)}.items():
        for i in range(total):
            build.case(**common, window_no=window, outcome="granted", on_time=i >= late)
    build.commit()
    windows = by(get(client, people, f"/windows?{OCTOBER}")["items"], "no")
    assert [(windows[n]["on_time_rate"], windows[n]["grade"]) for n in (2, 3, 4, 5)] == [
        (98.0, "优秀"), (95.0, "良好"), (90.0, "合格"), (88.89, "不合格")]


def test_departments(client, people, october):
    body = get(client, people, f"/departments?{OCTOBER}")
    assert body["working_days"] == 18
    departments = by(body["items"], "code")
    assert len(departments) == 10
    assert departments["fgj"]["name"] == "区发改局"
    assert figures(departments["fgj"]) == {
        "received": 47, "completed": 44, "open": 2, "cancelled": 1, "on_time": 42, "on_time_rate": 95.45,
        "avg_working_days": 4.45, "p90_working_days": 9, "overdue": 3, "supplements": 3, "refusals": 1,
        "not_accepted": 1, "green_channel": 1, "daily_traffic": 2.61, "grade": "良好"}
    assert figures(departments["wsj"])["grade"] == "优秀"
    assert figures(departments["cgj"]) == {**ZERO, "received": 1, "open": 1, "daily_traffic": 0.06}
    for code in ("rlj", "fgju", "czj", "wtj", "hbj", "zzb", "zgh"):
        assert figures(departments[code]) == ZERO
    assert figures(body["unassigned"]) == ZERO


def test_matters(client, people, october):
    body = get(client, people, f"/matters?{OCTOBER}")
    matters = by(body["items"], "code")
    assert list(matters) == ["CG-XK-0001", "FG-XK-0001", "FG-XK-0002", "WS-XK-0001"]
    one = matters["FG-XK-0001"]
    assert (one["name"], one["kind"], one["kind_name"], one["department"], one["department_name"]) == (
        "企业投资项目核准", "promised", "承诺件", "fgj", "区发改局")
    assert figures(one) == {
        "received": 5, "completed": 3, "open": 2, "cancelled": 0, "on_time": 2, "on_time_rate": 66.67,
        "avg_working_days": 5.33, "p90_working_days": 10, "overdue": 2, "supplements": 3, "refusals": 1,
        "not_accepted": 0, "green_channel": 1, "daily_traffic": 0.28, "grade": "不合格"}
    assert figures(matters["FG-XK-0002"]) == {
        "received": 42, "completed": 41, "open": 0, "cancelled": 1, "on_time": 40, "on_time_rate": 97.56,
        "avg_working_days": 4.39, "p90_working_days": 8, "overdue": 1, "supplements": 0, "refusals": 0,
        "not_accepted": 1, "green_channel": 0, "daily_traffic": 2.33, "grade": "良好"}
    assert matters["FG-XK-0002"]["kind_name"] == "即办件"

    fgj = get(client, people, f"/matters?{OCTOBER}&department=fgj")["items"]
    assert [m["code"] for m in fgj] == ["FG-XK-0001", "FG-XK-0002"]
    assert [m["received"] for m in fgj] == [5, 42]
    immediate = get(client, people, f"/matters?{OCTOBER}&kind=immediate")["items"]
    assert [(m["code"], m["received"]) for m in immediate] == [("FG-XK-0002", 42)]
    response = client.get(f"{API}/matters?department=nope", headers=people.auth("center"))
    assert response.status_code == 404


def test_summary(client, people, october):
    body = get(client, people, f"/summary?{OCTOBER}")
    assert figures(body) == {
        "received": 49, "completed": 45, "open": 3, "cancelled": 1, "on_time": 43, "on_time_rate": 95.56,
        "avg_working_days": 4.38, "p90_working_days": 9, "overdue": 3, "supplements": 3, "refusals": 1,
        "not_accepted": 1, "green_channel": 1, "daily_traffic": 2.72, "grade": "良好"}
    kinds = by(body["by_kind"], "kind")
    assert list(kinds) == ["immediate", "promised", "joint", "reported"]
    assert kinds["promised"]["kind_name"] == "承诺件"
    assert (kinds["promised"]["received"], kinds["promised"]["completed"], kinds["promised"]["on_time_rate"],
            kinds["promised"]["grade"]) == (6, 4, 75.0, "不合格")
    assert (kinds["immediate"]["received"], kinds["immediate"]["on_time_rate"]) == (42, 97.56)
    assert (kinds["joint"]["received"], kinds["joint"]["open"], kinds["joint"]["grade"]) == (1, 1, None)
    assert figures(kinds["reported"]) == ZERO
    assert figures(body["green_channel_figures"]) == {
        **ZERO, "received": 1, "completed": 1, "on_time": 1, "on_time_rate": 100.0, "avg_working_days": 2.0,
        "p90_working_days": 2, "supplements": 1, "green_channel": 1, "daily_traffic": 0.06, "grade": "优秀"}


def test_period_filters_by_received_date(client, people, october):
    # one day: the three cases received on 2026-10-12 (window 2's refusal, window 3's two)
    day = get(client, people, "/summary?from=2026-10-12&to=2026-10-12")
    assert (day["received"], day["working_days"], day["daily_traffic"]) == (3, 1, 3.0)
    # September's last day holds only the case outside October
    september = get(client, people, "/windows?from=2026-09-30&to=2026-09-30")
    assert by(september["items"], "no")[2]["received"] == 1
    assert by(september["items"], "no")[2]["on_time_rate"] == 0.0
    # both ends count: 2026-09-30 .. 2026-11-01 holds everything
    assert get(client, people, "/summary?from=2026-09-30&to=2026-11-01")["received"] == 51
    # National Day holiday alone: received on 10-01 (the cancelled case), no working day, so no traffic
    holiday = get(client, people, "/windows?from=2026-10-01&to=2026-10-07")
    assert holiday["working_days"] == 0
    assert by(holiday["items"], "no")[2]["received"] == 1
    assert by(holiday["items"], "no")[2]["daily_traffic"] is None
    assert holiday["merge_candidates"] == []


def test_default_period_is_the_current_month(client, people, october):
    """The clock says 2026-11-25: November, whose traffic divides by the working days up to today."""
    body = get(client, people, "/windows")
    assert (body["from"], body["to"]) == ("2026-11-01", "2026-11-30")
    assert (body["working_days"], body["traffic_working_days"]) == (21, 18)
    window = by(body["items"], "no")[2]
    assert (window["received"], window["open"], window["overdue"], window["daily_traffic"]) == (1, 1, 1, 0.06)
    assert get(client, people, "/summary")["received"] == 1
    # only `from`: up to the end of the current month; only `to`: from the first of its month
    assert get(client, people, "/summary?from=2026-10-01")["received"] == 50
    body = get(client, people, "/summary?to=2026-10-15")
    assert (body["from"], body["to"], body["received"]) == ("2026-10-01", "2026-10-15", 22)


def test_a_future_period_has_no_traffic(client, people, october):
    body = get(client, people, "/windows?from=2026-12-01&to=2026-12-31")
    assert body["working_days"] == 23 and body["traffic_working_days"] == 0
    assert all(w["daily_traffic"] is None and w["merge_candidate"] is False for w in body["items"])


def test_empty_period(client, people, october):
    for path in ("/windows", "/departments", "/matters", "/summary"):
        body = get(client, people, f"{path}?from=2025-01-01&to=2025-01-31")
        assert body["working_days"] == 19
        for item in body.get("items", [body]):
            assert figures(item) == ZERO, (path, item)
    assert len(get(client, people, "/windows?from=2025-01-01&to=2025-01-31")["items"]) == 23


def test_no_cases_at_all(client, people, build):
    body = get(client, people, f"/summary?{OCTOBER}")
    assert figures(body) == ZERO
    assert [k["received"] for k in body["by_kind"]] == [0, 0, 0, 0]
    assert get(client, people, f"/matters?{OCTOBER}")["items"] == []


def test_access(client, people, october):
    for path in ("/windows", "/departments", "/matters", "/summary", "/matters/FG-XK-0001/versions"):
        for user in ("boss", "ops", "admin"):
            assert client.get(f"{API}{path}", headers=people.auth(user)).status_code == 200, (path, user)
        for user in ("clerk", "analyst"):
            response = client.get(f"{API}{path}?from=bad", headers=people.auth(user))
            assert response.status_code == 403, (path, user)
            assert response.get_json()["code"] == "forbidden"
        assert client.get(f"{API}{path}").status_code == 401


CHINESE = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize("query, words", [
    ("from=2026-13-01", "日期格式错误"),
    ("from=20261001", "日期格式错误"),
    ("to=2026-10-1", "日期格式错误"),
    ("from=2026-10-01T00:00:00", "日期格式错误"),
    ("from=2026-10-31&to=2026-10-01", "晚于"),
    ("from=1800-01-01&to=1800-01-31", "超出"),
])
def test_bad_periods_are_422_in_chinese(client, people, october, query, words):
    for path in ("/windows", "/departments", "/matters", "/summary", "/matters/FG-XK-0001/versions", "/speed-up"):
        response = client.get(f"{API}{path}?{query}", headers=people.auth("boss"))
        assert response.status_code == 422, (path, query)
        body = response.get_json()
        assert body["code"] == "invalid"
        assert words in body["message"] and CHINESE.search(body["message"])
        assert "invalid request" not in body["message"]


def test_a_department_supervisor_counts_only_their_departments(client, people, october):
    """发改局's supervisor (boss): every report counts 发改局's cases only; 卫生局's supervisor 卫生局's; asking for
    another department is refused as the per-clerk figures refuse it (403)."""
    center = get(client, people, f"/summary?{OCTOBER}")
    mine = get(client, people, f"/summary?{OCTOBER}", user="boss")
    assert (center["received"], mine["received"]) == (49, 47)
    assert get(client, people, f"/summary?{OCTOBER}", user="otherboss")["received"] == 1
    assert [d["code"] for d in get(client, people, f"/departments?{OCTOBER}", user="boss")["items"]] == ["fgj"]
    windows = get(client, people, f"/windows?{OCTOBER}", user="boss")
    assert [w["no"] for w in windows["items"]] == [2, 3] and windows["unassigned"]["received"] == 0
    assert sum(w["received"] for w in windows["items"]) == 47
    matters = get(client, people, f"/matters?{OCTOBER}", user="boss")["items"]
    assert [m["code"] for m in matters] == ["FG-XK-0001", "FG-XK-0002"]
    for path in ("/windows", "/matters", "/speed-up"):
        response = client.get(f"{API}{path}?department=wsj", headers=people.auth("boss"))
        assert response.status_code == 403 and response.get_json()["details"]["your_departments"] == ["fgj"]
    assert client.get(f"{API}/matters/WS-XK-0001/versions", headers=people.auth("boss")).status_code == 403
    assert get(client, people, "/matters/WS-XK-0001/versions", user="otherboss")["versions"][0]["cases"] == 1


def test_bad_numbers_are_422(client, people, october):
    for path in ("/windows?merge_below=abc", "/windows?merge_below=-1", "/matters?kind=nope",
                 "/matters/FG-XK-0001/versions?base=x", "/matters/FG-XK-0001/versions?compare=0"):
        response = client.get(f"{API}{path}", headers=people.auth("boss"))
        assert response.status_code == 422, path
        assert CHINESE.search(response.get_json()["message"]), path


def test_openapi_documents_the_endpoints(client):
    spec = client.get("/api/openapi.json").get_json()
    paths = spec["paths"]
    for path in ("windows", "departments", "matters", "summary", "matters/{code}/versions", "speed-up"):
        assert f"/api/v1/statistics/{path}" in paths
    assert "case-weighted" in paths["/api/v1/statistics/speed-up"]["get"]["description"]
    windows = paths["/api/v1/statistics/windows"]["get"]
    assert {p["name"] for p in windows["parameters"]} >= {"from", "to", "merge_below"}
    schemas = spec["components"]["schemas"]
    assert "merge_candidate" in schemas["WindowFigures"]["properties"]
    assert "goal_met" in schemas["VersionComparison"]["properties"]


def test_the_number_of_queries_does_not_grow_with_the_cases(app, client, people, october):
    """Grouped aggregates: as many statements for 50 cases as for 250 (no per-case reads)."""
    from datetime import date

    from sqlalchemy import event

    from app.extensions import db

    with app.app_context():
        engine = db.engine

    def statements(path):
        seen = []

        def count(*_args):
            seen.append(1)

        event.listen(engine, "before_cursor_execute", count)
        try:
            get(client, people, path)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(seen)

    paths = [f"/windows?{OCTOBER}", f"/departments?{OCTOBER}", f"/matters?{OCTOBER}", f"/summary?{OCTOBER}",
             "/matters/FG-XK-0002/versions"]
    for path in paths:  # warm up: the caller's token is then remembered, not read again
        get(client, people, path)
    before = [statements(path) for path in paths]
    for i in range(200):
        october.case(key="fg_record", matter_code="FG-XK-0002", department_code="fgj", window_no=4 + i % 19,
                     received_on=date(2026, 10, 8 + i % 20), outcome="granted", on_time=True,
                     working_days_used=i % 5)
    october.commit()
    assert [statements(path) for path in paths] == before
    assert get(client, people, f"/summary?{OCTOBER}")["received"] == 249
