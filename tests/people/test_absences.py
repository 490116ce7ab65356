"""Absences (AB岗): tasks go to colleagues or the backup post while a clerk is away, and come back after."""

from __future__ import annotations

from datetime import UTC, datetime

from app.audit.models import AuditEntry
from app.extensions import db
from app.people import absences as people_service
from app.people.models import Absence
from tests.people.conftest import absent, first_task, start, task


def _at(day: int, month: int = 11) -> datetime:
    return datetime(2026, month, day, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai


def _open_at(client, people, post):
    response = client.get("/api/v1/tasks", query_string={"post": post}, headers=people.auth("boss"))
    return {t["id"]: t for t in response.json["items"]}


def test_tasks_go_to_the_backup_while_everyone_is_away_and_come_back(client, hall, clock):
    people = hall
    case_a, case_b = start(client, people), start(client, people)
    task_a, task_b = first_task(client, people, case_a)["id"], first_task(client, people, case_b)["id"]
    assert client.post(f"/api/v1/tasks/{task_a}/claim", headers=people.auth("clerk")).json["assignee"] == "clerk"

    # Wednesday: clerk is away Thursday and Friday, clerk2 on Thursday only. Nothing moves today.
    first = absent(client, people, "clerk", "2026-11-26", "2026-11-27", "年休假")
    assert first.status_code == 201, first.json
    assert first.json["in_effect"] is False and first.json["tasks_moved"]["released"] == 0
    assert absent(client, people, "clerk2", "2026-11-26", "2026-11-26").status_code == 201
    assert task(client, people, task_a)["assignee"] == "clerk"

    # Thursday: both holders of 测试受理岗 are away, so its tasks wait at the backup post; clerk's claim is released.
    clock.set(_at(26))
    moved = people_service.apply_absences()
    assert moved == {"released": 1, "diverted": 1, "returned": 0, "given_back": 0}
    assert people_service.apply_absences() == {"released": 0, "diverted": 0, "returned": 0, "given_back": 0}
    at_backup = _open_at(client, people, "测试受理B岗")
    assert set(at_backup) == {task_a, task_b}
    assert at_backup[task_a]["assignee"] is None and at_backup[task_a]["home_post"] == "测试受理岗"
    case_c = start(client, people)  # a new case goes straight to the backup post
    task_c = first_task(client, people, case_c)
    assert task_c["post"] == "测试受理B岗" and task_c["home_post"] == "测试受理岗"
    assert client.post(f"/api/v1/tasks/{task_b}/claim", headers=people.auth("bclerk")).status_code == 200
    posts = {p["name"]: p for p in client.get("/api/v1/posts", headers=people.auth("boss")).json["items"]}
    assert posts["测试受理岗"]["routed_to"] == "测试受理B岗"
    assert all(h["absent"] for h in posts["测试受理岗"]["holders"])
    assert posts["测试受理B岗"]["open_tasks"] == 3 and posts["测试受理B岗"]["claimed_tasks"] == 1

    # Friday: clerk2 is back. Waiting tasks return to 测试受理岗; bclerk keeps the one they took.
    clock.set(_at(27))
    assert people_service.apply_absences()["returned"] == 2
    assert set(_open_at(client, people, "测试受理岗")) == {task_a, task_c["id"]}
    assert task(client, people, task_a)["assignee"] is None  # clerk is still away
    kept = task(client, people, task_b)
    assert kept["post"] == "测试受理B岗" and kept["assignee"] == "bclerk"

    # Monday (the weekend in between): clerk is back and gets the task they had claimed.
    clock.set(_at(30))
    assert people_service.apply_absences()["given_back"] == 1
    back = task(client, people, task_a)
    assert back["assignee"] == "clerk" and back["post"] == "测试受理岗"
    assert task(client, people, task_c["id"])["assignee"] is None

    causes = [e.details["cause"] for e in db.session.scalars(
        db.select(AuditEntry).where(AuditEntry.task_id == task_a, AuditEntry.action == "task.rerouted")
        .order_by(AuditEntry.id))]
    assert causes == ["absence", "return", "back"]


def test_a_claim_is_released_to_colleagues_when_the_post_is_still_staffed(client, hall, clock):
    people = hall
    case = start(client, people)
    task_id = first_task(client, people, case)["id"]
    client.post(f"/api/v1/tasks/{task_id}/claim", headers=people.auth("clerk"))
    created = absent(client, people, "clerk", "2026-11-25", "2026-11-25", "病假")
    assert created.json["in_effect"] is True and created.json["tasks_moved"]["released"] == 1
    released = task(client, people, task_id)
    assert released["assignee"] is None and released["post"] == "测试受理岗"  # clerk2 is there
    assert client.post(f"/api/v1/tasks/{task_id}/claim", headers=people.auth("clerk2")).status_code == 200
    clock.set(_at(26))
    assert people_service.apply_absences() == {"released": 0, "diverted": 0, "returned": 0, "given_back": 0}
    assert task(client, people, task_id)["assignee"] == "clerk2"  # taken meanwhile: it stays


def test_ending_an_absence_early_brings_the_tasks_back(client, hall, clock):
    people = hall
    case = start(client, people)
    task_id = first_task(client, people, case)["id"]
    mine = absent(client, people, "clerk", "2026-11-25", "2026-11-28").json
    theirs = absent(client, people, "clerk2", "2026-11-25", "2026-11-26").json
    assert theirs["tasks_moved"]["diverted"] == 1
    assert task(client, people, task_id)["post"] == "测试受理B岗"

    listed = client.get("/api/v1/absences", query_string={"active_on": "2026-11-27"}, headers=people.auth("boss")).json
    assert [a["username"] for a in listed["items"]] == ["clerk"] and listed["total"] == 1
    by_user = client.get("/api/v1/absences", query_string={"username": "clerk2"}, headers=people.auth("boss")).json
    assert by_user["items"][0]["id"] == theirs["id"] and by_user["items"][0]["name"] == "窗口乙"

    ended = client.delete(f"/api/v1/absences/{theirs['id']}", headers=people.auth("boss"))
    assert ended.status_code == 200, ended.json
    assert ended.json["ended_by"] == "boss" and ended.json["in_effect"] is False
    assert ended.json["tasks_moved"]["returned"] == 1
    assert task(client, people, task_id)["post"] == "测试受理岗"
    assert client.delete(f"/api/v1/absences/{theirs['id']}", headers=people.auth("boss")).status_code == 409
    assert client.delete("/api/v1/absences/999", headers=people.auth("boss")).status_code == 404
    assert client.get("/api/v1/absences", query_string={"active_on": "2026-11-25"},
                      headers=people.auth("boss")).json["total"] == 1
    clock.set(_at(1, 12))
    assert client.delete(f"/api/v1/absences/{mine['id']}", headers=people.auth("boss")).status_code == 409  # over


def test_overlapping_absence_is_409_and_changes_nothing(client, hall):
    people = hall
    assert absent(client, people, "clerk", "2026-11-26", "2026-11-30").status_code == 201
    overlap = absent(client, people, "clerk", "2026-11-30", "2026-12-02", "事假")
    assert overlap.status_code == 409 and overlap.json["code"] == "absence_overlap"
    assert "重叠" in overlap.json["message"] and "2026-11-26 至 2026-11-30" in overlap.json["message"]
    assert overlap.json["details"]["existing"]["start"] == "2026-11-26"
    inside = absent(client, people, "clerk", "2026-11-27", "2026-11-27")
    assert inside.status_code == 409
    assert db.session.scalar(db.select(db.func.count()).select_from(Absence)) == 1
    assert db.session.scalar(db.select(db.func.count()).select_from(AuditEntry)
                             .where(AuditEntry.action == "absence.created")) == 1
    assert absent(client, people, "clerk", "2026-12-01", "2026-12-02").status_code == 201  # adjacent is fine
    assert absent(client, people, "clerk2", "2026-11-27", "2026-11-27").status_code == 201  # another clerk too


def test_bad_absence_input_is_4xx_and_changes_nothing(client, hall):
    people = hall
    cases = [
        ({"username": "clerk", "start": "2026-12-03", "end": "2026-12-01", "reason": "x"}, 422),
        ({"username": "clerk", "start": "2026/12/01", "end": "2026-12-02", "reason": "x"}, 422),
        ({"username": "clerk", "start": "2026-12-01", "end": "2026-12-32", "reason": "x"}, 422),
        ({"username": "clerk", "start": "2026-12-01", "end": "2026-12-02"}, 422),
        ({"username": "clerk", "start": "2026-12-01", "end": "2026-12-02", "reason": ""}, 422),
        ({"username": "nobody", "start": "2026-12-01", "end": "2026-12-02", "reason": "x"}, 422),
    ]
    for body, status in cases:
        response = client.post("/api/v1/absences", json=body, headers=people.auth("boss"))
        assert response.status_code == status, (body, response.json)
    assert "YYYY-MM-DD" in str(client.post("/api/v1/absences", json=cases[1][0], headers=people.auth("boss")).json)
    assert absent(client, people, "clerk2", "2026-12-01", "2026-12-02", as_user="clerk").status_code == 403
    assert client.get("/api/v1/absences", headers=people.auth("clerk")).status_code == 403
    assert client.get("/api/v1/absences", query_string={"active_on": "soon"},
                      headers=people.auth("boss")).status_code == 422
    assert db.session.scalar(db.select(db.func.count()).select_from(Absence)) == 0


def test_an_ended_absence_no_longer_blocks_the_dates(client, hall):
    people = hall
    planned = absent(client, people, "clerk", "2026-12-07", "2026-12-11").json
    assert client.delete(f"/api/v1/absences/{planned['id']}", headers=people.auth("boss")).status_code == 200
    assert absent(client, people, "clerk", "2026-12-08", "2026-12-09").status_code == 201


def test_the_scheduler_applies_absences_as_the_date_changes(app, client, hall, clock):
    """The server's scheduler runs apply_absences periodically (every 60 s by default; faster here)."""
    import time

    from app.tasks.models import UserTask
    from app.timers import scheduler

    people = hall
    task_id = first_task(client, people, start(client, people))["id"]
    for username in ("clerk", "clerk2"):
        absent(client, people, username, "2026-11-26", "2026-11-26")
    clock.set(_at(26))  # nobody has called apply_absences: the scheduler must notice the new day
    db.session.rollback()
    interval = app.config["ABSENCE_INTERVAL_SECONDS"]
    app.config["ABSENCE_INTERVAL_SECONDS"] = 0.1
    sched = scheduler.start(app)
    try:
        deadline, post = time.monotonic() + 5, None
        while time.monotonic() < deadline:
            post = db.session.get(UserTask, task_id).post
            db.session.rollback()
            if post == "测试受理B岗":
                break
            time.sleep(0.05)
    finally:
        sched.shutdown(wait=True)
        app.config["ABSENCE_INTERVAL_SECONDS"] = interval
    assert post == "测试受理B岗"
