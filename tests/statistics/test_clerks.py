"""Statistics per clerk (人员统计): hand-built cases and steps of 发改局 and 卫生局 in October 2026, the figures
worked out by hand, and who may see whose (a department's supervisor: their department; 中心督查: everyone)."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime

import pytest

from app.hall.statistics import service
from app.tasks.models import UserTask
from tests.statistics.conftest import API

OCTOBER = "from=2026-10-01&to=2026-10-31"
_tasks = itertools.count(1)


def at(day: date, hour: int = 1) -> datetime:
    return datetime(day.year, day.month, day.day, hour, 0, tzinfo=UTC)  # hour 1 UTC: 09:00 in Shanghai


def step(build, case, who: str, opened: date, done: date, due: date | None = None, name: str = "审批") -> None:
    build.session.add(UserTask(
        id=f"task{next(_tasks):06d}", instance_id=case.id, process_key=case.process_key, element_id="step",
        name=name, post="测试审批岗", state="completed", created_at=at(opened), completed_at=at(done, 2),
        completed_by=who, due_at=at(due) if due else None))


@pytest.fixture()
def staffed(build):
    """Four cases of 发改局 (one received in September), one of 卫生局, with the steps the clerks did.

    Working days (the 2026 calendar): (10-08, 10-12] = 3 (the 10th is a working Saturday), (10-09, 10-23] = 11,
    (09-30, 10-08] = 1 (National Day in between).
    """
    b = build
    b.matter("FG-XK-0001", "企业投资项目核准", "fgj", "promised", "fg_approve")
    b.matter("WS-XK-0001", "公共场所卫生许可", "wsj", "promised", "ws_permit")
    fg = {"key": "fg_approve", "matter_code": "FG-XK-0001", "department_code": "fgj"}
    ws = {"key": "ws_permit", "matter_code": "WS-XK-0001", "department_code": "wsj"}
    a = b.case(**fg, received_on=date(2026, 10, 8), started_by="clerk", owner="clerk", outcome="granted",
               on_time=True, working_days_used=2)
    c = b.case(**fg, received_on=date(2026, 10, 9), started_by="clerk2", owner="clerk", outcome="refused",
               on_time=False, working_days_used=10)
    d = b.case(**fg, received_on=date(2026, 10, 13), state="running", light="red", started_by="clerk")
    e = b.case(**fg, received_on=date(2026, 9, 30), state="running", light="green", started_by="clerk")
    w = b.case(**ws, received_on=date(2026, 10, 15), started_by="other", owner="other", outcome="granted",
               on_time=True, working_days_used=1)
    b.session.flush()
    step(b, a, "clerk", date(2026, 10, 8), date(2026, 10, 8), name="受理")
    step(b, a, "approver", date(2026, 10, 8), date(2026, 10, 12))
    step(b, c, "clerk", date(2026, 10, 9), date(2026, 10, 9), name="受理")
    step(b, c, "approver", date(2026, 10, 9), date(2026, 10, 23), due=date(2026, 10, 20))  # late
    step(b, d, "clerk", date(2026, 10, 13), date(2026, 10, 13), name="受理")
    step(b, e, "approver", date(2026, 9, 30), date(2026, 10, 8))  # a September case, a step done in October
    step(b, w, "other", date(2026, 10, 15), date(2026, 10, 15), name="受理")
    b.commit()
    return b


def get(client, people, user: str, query: str = OCTOBER, status: int = 200):
    response = client.get(f"{API}/clerks?{query}", headers=people.auth(user))
    assert response.status_code == status, response.get_json()
    return response.get_json()


FIGURES = ("received", "accepted", "cases", "completed", "on_time", "on_time_rate", "avg_working_days", "overdue",
           "grade", "steps_completed", "steps_late", "avg_step_working_days")


def figures(item: dict) -> dict:
    return {key: item[key] for key in FIGURES}


CLERK = {"received": 2, "accepted": 2, "cases": 3, "completed": 2, "on_time": 1, "on_time_rate": 50.0,
         "avg_working_days": 6.0, "overdue": 2, "grade": "不合格", "steps_completed": 3, "steps_late": 0,
         "avg_step_working_days": 0.0}
CLERK2 = {"received": 1, "accepted": 0, "cases": 1, "completed": 1, "on_time": 0, "on_time_rate": 0.0,
          "avg_working_days": 10.0, "overdue": 1, "grade": "不合格", "steps_completed": 0, "steps_late": 0,
          "avg_step_working_days": None}
APPROVER = {"received": 0, "accepted": 0, "cases": 2, "completed": 2, "on_time": 1, "on_time_rate": 50.0,
            "avg_working_days": 6.0, "overdue": 1, "grade": "不合格", "steps_completed": 3, "steps_late": 1,
            "avg_step_working_days": 5.0}  # (3 + 11 + 1) / 3
OTHER = {"received": 1, "accepted": 1, "cases": 1, "completed": 1, "on_time": 1, "on_time_rate": 100.0,
         "avg_working_days": 1.0, "overdue": 0, "grade": "优秀", "steps_completed": 1, "steps_late": 0,
         "avg_step_working_days": 0.0}


def test_a_department_supervisor_sees_their_departments_clerks(client, people, staffed):
    body = get(client, people, "boss")
    assert body["from"] == "2026-10-01" and body["to"] == "2026-10-31" and body["departments"] == ["fgj"]
    items = {i["username"]: i for i in body["items"]}
    assert list(items) == ["approver", "clerk", "clerk2"]  # 发改局's clerks; 卫生局's and the supervisor not
    assert figures(items["clerk"]) == CLERK
    assert figures(items["clerk2"]) == CLERK2
    assert figures(items["approver"]) == APPROVER
    assert items["clerk"]["name"] == "窗口甲" and items["clerk"]["department"] == "fgj"
    assert items["clerk"]["department_name"] == "区发改局" and items["clerk"]["posts"] == ["测试受理岗"]

    other = {i["username"]: i for i in get(client, people, "otherboss")["items"]}
    assert list(other) == ["other"] and figures(other["other"]) == OTHER


def test_the_center_supervisor_sees_everyone_and_may_narrow(client, people, staffed):
    body = get(client, people, "center")
    assert body["departments"] is None
    items = {i["username"]: i for i in body["items"]}
    assert set(items) == {"clerk", "clerk2", "approver", "other"}
    assert figures(items["clerk"]) == CLERK and figures(items["other"]) == OTHER
    narrowed = get(client, people, "center", f"{OCTOBER}&department=wsj")
    assert [i["username"] for i in narrowed["items"]] == ["other"] and narrowed["departments"] == ["wsj"]
    assert get(client, people, "admin")["departments"] is None
    assert get(client, people, "center", f"{OCTOBER}&department=nope", status=404)["message"] == "部门 nope 不存在"


def test_another_departments_clerks_and_other_roles_are_refused(client, people, staffed):
    refused = get(client, people, "boss", f"{OCTOBER}&department=wsj", status=403)
    assert refused["message"] == "只能查看本人督查部门的人员统计"
    for user in ("clerk", "analyst", "ops"):
        assert get(client, people, user, status=403)["message"] == "当前角色无权执行此操作"
    assert client.get(f"{API}/clerks").status_code == 401
    bad = get(client, people, "boss", "from=2026-10-31&to=2026-10-01", status=422)
    assert bad["message"] == "开始日期 2026-10-31 晚于结束日期 2026-10-01"


def test_a_case_outside_the_period_counts_only_by_its_steps(in_app, staffed):
    """September's case: not among the cases (received before October), its October step among the steps."""
    september = in_app(service.clerks, date(2026, 9, 1), date(2026, 9, 30), ["fgj"])
    by = {i["username"]: i for i in september["items"]}
    assert by["clerk"]["received"] == 1 and by["clerk"]["cases"] == 1 and by["clerk"]["steps_completed"] == 0
    assert by["approver"]["cases"] == 1 and by["approver"]["steps_completed"] == 0


def test_the_report_is_documented(client):
    spec = client.get("/api/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/statistics/clerks"]["get"]
    assert "Per clerk" in operation["summary"] + operation.get("description", "")
    assert {p["name"] for p in operation["parameters"]} >= {"from", "to", "department"}
    schema = spec["components"]["schemas"]["ClerkFigures"]
    assert {"received", "accepted", "steps_completed", "on_time_rate", "avg_working_days"} <= set(schema["properties"])
