"""The test hall plus a clerk at another window holding the backup post 测试受理B岗."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.people import service
from app.people.auth import issue_token
from app.people.models import Post
from tests.conftest import deploy


@pytest.fixture()
def hall(app, client, people):
    with app.app_context():
        user = service.upsert_user("bclerk", "备岗丙", ["clerk"], ["测试受理B岗"])
        people.tokens["bclerk"] = issue_token(user)
        db.session.commit()
    deploy(client, people, "two_step.bpmn")
    return people


def start(client, people, key="two_step", data=None):
    response = client.post(f"/api/v1/process-definitions/{key}/instances", json={"data": data or {}},
                           headers=people.auth("clerk"))
    assert response.status_code == 201, response.json
    return response.json


def first_task(client, people, case):
    detail = client.get(f"/api/v1/instances/{case['id']}", headers=people.auth("clerk")).json
    return detail["tasks"][0]


def task(client, people, task_id):
    response = client.get(f"/api/v1/tasks/{task_id}", headers=people.auth("clerk"))
    assert response.status_code == 200, response.json
    return response.json


def absent(client, people, username, start_date, end_date, reason="休假", as_user="boss"):
    return client.post("/api/v1/absences", json={"username": username, "start": start_date, "end": end_date,
                                                 "reason": reason}, headers=people.auth(as_user))


@pytest.fixture()
def front(app, client, hall):
    """The comprehensive window (综合窗口): its posts 综合受理A岗 (front) and 综合受理B岗 (frontb), and a diagram
    whose steps wait at a department's post and at the comprehensive window's."""
    people = hall
    with app.app_context():
        db.session.add(Post(name="综合受理B岗", kind="window_b", department_code=None))
        db.session.flush()
        db.session.add(Post(name="综合受理A岗", kind="window_a", department_code=None, backup_name="综合受理B岗"))
        db.session.flush()
        for username, name, posts in (("front", "综合甲", ["综合受理A岗"]), ("frontb", "综合备", ["综合受理B岗"])):
            people.tokens[username] = issue_token(service.upsert_user(username, name, ["clerk"], posts))
        db.session.commit()
    response = deploy(client, people, "shared_window.bpmn")
    assert response.status_code == 201, response.json
    return people
