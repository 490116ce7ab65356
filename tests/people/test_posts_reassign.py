"""GET /api/v1/posts (holders, backups, open-task counts) and supervisor reassignment of tasks."""

from __future__ import annotations

from sqlalchemy import event

from app.audit.models import AuditEntry
from app.extensions import db
from app.people import absences as people_service
from tests.conftest import in_app_engine
from tests.people.conftest import absent, first_task, start, task


def _complete_accept(client, people, task_id, user="clerk"):
    response = client.post(f"/api/v1/tasks/{task_id}/complete",
                           json={"data": {"applicant": "张三", "materials_complete": True}}, headers=people.auth(user))
    assert response.status_code == 200, response.json
    return response.json


def test_posts_list_holders_backups_and_open_task_counts_from_the_tally_not_the_tasks(app, client, hall):
    people = hall
    cases = [start(client, people) for _ in range(3)]
    client.post(f"/api/v1/tasks/{first_task(client, people, cases[0])['id']}/claim", headers=people.auth("clerk"))
    _complete_accept(client, people, first_task(client, people, cases[1])["id"])  # now at 测试审批岗

    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    engine = in_app_engine(app)
    event.listen(engine, "before_cursor_execute", count)
    try:
        response = client.get("/api/v1/posts", headers=people.auth("clerk"))
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert response.status_code == 200, response.json
    # the counts are the post tally's few rows (kept by triggers), never a walk of the open tasks
    assert not any("user_task" in s for s in statements)
    assert sum("post_tally" in s for s in statements) == 1

    posts = {p["name"]: p for p in response.json["items"]}
    window = posts["测试受理岗"]
    assert window["kind"] == "window_a" and window["backup"] == "测试受理B岗" and window["routed_to"] is None
    assert [h["username"] for h in window["holders"]] == ["clerk", "clerk2"]
    assert window["holders"][0] == {"username": "clerk", "name": "窗口甲", "window": None, "absent": False}
    assert (window["open_tasks"], window["claimed_tasks"], window["unclaimed_tasks"]) == (2, 1, 1)
    assert posts["测试受理B岗"]["backup_for"] == ["测试受理岗"]
    assert [h["username"] for h in posts["测试受理B岗"]["holders"]] == ["bclerk"]
    assert posts["测试审批岗"]["open_tasks"] == 1 and posts["测试督查岗"]["open_tasks"] == 0
    only = client.get("/api/v1/posts", query_string={"kind": "window_b"}, headers=people.auth("clerk")).json
    assert [p["name"] for p in only["items"]] == ["测试受理B岗"]
    assert client.get("/api/v1/posts", query_string={"kind": "boss"}, headers=people.auth("clerk")).status_code == 422


def _reassign(client, people, task_id, as_user="boss", **body):
    return client.post(f"/api/v1/tasks/{task_id}/reassign", json=body, headers=people.auth(as_user))


def test_reassign_to_a_clerk_of_the_post_or_its_backup(in_app, client, hall):
    people = hall
    task_id = first_task(client, people, start(client, people))["id"]
    client.post(f"/api/v1/tasks/{task_id}/claim", headers=people.auth("clerk"))

    moved = _reassign(client, people, task_id, username="clerk2", reason="甲窗口排队过长")
    assert moved.status_code == 200, moved.json
    assert moved.json["assignee"] == "clerk2" and moved.json["post"] == "测试受理岗"
    to_backup = _reassign(client, people, task_id, username="bclerk", reason="乙外出")
    assert to_backup.status_code == 200
    assert to_backup.json["assignee"] == "bclerk" and to_backup.json["post"] == "测试受理B岗"
    assert to_backup.json["home_post"] == "测试受理岗"
    trail = in_app(lambda: list(db.session.scalars(db.select(AuditEntry).where(AuditEntry.action == "task.reassigned")
                                                   .order_by(AuditEntry.id))))
    assert [(e.actor, e.details["from_assignee"], e.details["to_assignee"], e.details["reason"]) for e in trail] == [
        ("boss", "clerk", "clerk2", "甲窗口排队过长"), ("boss", "clerk2", "bclerk", "乙外出")]
    done = _complete_accept(client, people, task_id, user="bclerk")
    assert done["completed_by"] == "bclerk"


def test_reassign_to_someone_without_the_post_is_422_and_changes_nothing(in_app, client, hall):
    people = hall
    task_id = first_task(client, people, start(client, people))["id"]
    client.post(f"/api/v1/tasks/{task_id}/claim", headers=people.auth("clerk"))
    before = task(client, people, task_id)

    wrong = _reassign(client, people, task_id, username="approver", reason="试试")
    assert wrong.status_code == 422
    assert "不在岗位「测试受理岗」或其备岗「测试受理B岗」" in wrong.json["message"]
    assert wrong.json["details"]["user_posts"] == ["测试审批岗"]
    for body in ({"username": "clerk2"}, {"username": "clerk2", "reason": ""},
                 {"username": "clerk2", "post": "测试受理岗", "reason": "x"}, {"reason": "x"},
                 {"username": "nobody", "reason": "x"}, {"post": "测试审批岗", "reason": "x"},
                 {"post": "没有这个岗", "reason": "x"}):
        response = _reassign(client, people, task_id, **body)
        assert response.status_code == 422, (body, response.json)
    assert _reassign(client, people, task_id, as_user="clerk2", username="clerk2", reason="x").status_code == 403
    absent(client, people, "clerk2", "2026-11-25", "2026-11-25")
    away = _reassign(client, people, task_id, username="clerk2", reason="x")
    assert away.status_code == 422 and "请假" in away.json["message"]
    assert _reassign(client, people, "no-such-task", username="clerk2", reason="x").status_code == 404

    after = task(client, people, task_id)
    assert (after["assignee"], after["post"]) == (before["assignee"], before["post"]) == ("clerk", "测试受理岗")
    assert in_app(lambda: db.session.scalar(db.select(db.func.count()).select_from(AuditEntry)
                                            .where(AuditEntry.action == "task.reassigned"))) == 0


def test_reassign_to_the_backup_post_moves_the_task_there_for_good(in_app, client, hall):
    people = hall
    task_id = first_task(client, people, start(client, people))["id"]
    moved = _reassign(client, people, task_id, post="测试受理B岗", reason="A岗今日培训")
    assert moved.status_code == 200, moved.json
    assert (moved.json["post"], moved.json["home_post"], moved.json["assignee"]) == ("测试受理B岗", "测试受理B岗", None)
    assert in_app(people_service.apply_absences)["returned"] == 0  # it is not a diverted task: it stays
    assert client.post(f"/api/v1/tasks/{task_id}/claim", headers=people.auth("bclerk")).status_code == 200
    _complete_accept(client, people, task_id, user="bclerk")
    assert _reassign(client, people, task_id, username="bclerk", reason="x").status_code == 409
