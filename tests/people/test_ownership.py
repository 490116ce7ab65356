"""首问负责制: the clerk who accepts a case owns it; later steps back at the window are theirs by default."""

from __future__ import annotations

from datetime import UTC, datetime

from app.audit.models import AuditEntry
from app.extensions import db
from app.people import absences as people_service
from tests.conftest import deploy
from tests.people.conftest import absent, first_task, start


def _open(client, people, case):
    detail = client.get(f"/api/v1/instances/{case['id']}", headers=people.auth("boss")).json
    return detail, {t["element_id"]: t for t in detail["tasks"]}


def _do(client, people, task_id, user, data):
    response = client.post(f"/api/v1/tasks/{task_id}/complete", json={"data": data}, headers=people.auth(user))
    assert response.status_code == 200, response.json
    return response.json


def _accept(client, people, case, user):
    return _do(client, people, first_task(client, people, case)["id"], user,
               {"applicant": "李四", "materials_complete": False})


def _review(client, people, case, decision):
    _, tasks = _open(client, people, case)
    return _do(client, people, tasks["review"]["id"], "approver", {"decision": decision})


def _mine(client, people, user, owner="me"):
    response = client.get("/api/v1/instances", query_string={"owner": owner}, headers=people.auth(user))
    assert response.status_code == 200, response.json
    return [c["id"] for c in response.json["items"]]


def test_the_acceptor_owns_the_case_and_gets_the_supplement_check_and_delivery(in_app, client, hall):
    people = hall
    deploy(client, people, "owner_loop.bpmn")
    case, other = start(client, people, "owner_loop"), start(client, people, "owner_loop")
    assert _open(client, people, case)[0]["owner"] is None
    done = _accept(client, people, case, "clerk2")
    assert done["next_tasks"][0]["element_id"] == "review" and done["next_tasks"][0]["assignee"] is None
    detail, _ = _open(client, people, case)
    assert (detail["owner"], detail["owner_post"]) == ("clerk2", "测试受理岗")
    _accept(client, people, other, "clerk")

    supplement = _review(client, people, case, "supplement")["next_tasks"]
    assert [(t["element_id"], t["assignee"], t["post"]) for t in supplement] == [
        ("supplement_check", "clerk2", "测试受理岗")]
    _do(client, people, supplement[0]["id"], "clerk2", {"materials_complete": True})
    delivery = _review(client, people, case, "grant")["next_tasks"]
    assert [(t["element_id"], t["assignee"]) for t in delivery] == [("deliver", "clerk2")]
    assert client.post(f"/api/v1/tasks/{delivery[0]['id']}/claim", headers=people.auth("clerk")).status_code == 409
    _do(client, people, delivery[0]["id"], "clerk2", {})
    assert _open(client, people, case)[0]["state"] == "completed"

    assert _mine(client, people, "clerk2") == [case["id"]]
    assert _mine(client, people, "clerk") == [other["id"]]
    assert _mine(client, people, "boss", owner="clerk2") == [case["id"]]
    assert _mine(client, people, "boss", owner="approver") == []
    trail = in_app(lambda: [(e.action, e.actor, e.details) for e in db.session.scalars(
        db.select(AuditEntry).where(AuditEntry.instance_id == case["id"],
                                    AuditEntry.action.in_(("instance.owner", "task.assigned"))).order_by(AuditEntry.id))])
    assert trail == [("instance.owner", "clerk2", {"owner": "clerk2", "post": "测试受理岗"}),
                     ("task.assigned", None, {"assignee": "clerk2", "cause": "owner"}),
                     ("task.assigned", None, {"assignee": "clerk2", "cause": "owner"})]


def test_an_absent_owner_gets_the_step_when_back(in_app, client, hall, clock):
    people = hall
    deploy(client, people, "owner_loop.bpmn")
    case = start(client, people, "owner_loop")
    _accept(client, people, case, "clerk")
    absent(client, people, "clerk", "2026-11-25", "2026-11-25", "外出培训")
    step = _review(client, people, case, "supplement")["next_tasks"][0]
    assert (step["assignee"], step["post"]) == (None, "测试受理岗")  # clerk2 is there to take it meanwhile

    clock.set(datetime(2026, 11, 26, 1, 0, tzinfo=UTC))
    assert in_app(people_service.apply_absences)["given_back"] == 1
    _, tasks = _open(client, people, case)
    assert tasks["supplement_check"]["assignee"] == "clerk"


def test_a_backup_clerk_who_accepts_owns_the_case(client, hall):
    people = hall
    deploy(client, people, "owner_loop.bpmn")
    for username in ("clerk", "clerk2"):
        absent(client, people, username, "2026-11-25", "2026-11-25")
    case = start(client, people, "owner_loop")
    assert first_task(client, people, case)["post"] == "测试受理B岗"
    _accept(client, people, case, "bclerk")
    assert _open(client, people, case)[0]["owner"] == "bclerk"
    step = _review(client, people, case, "grant")["next_tasks"][0]
    assert (step["element_id"], step["assignee"], step["post"], step["home_post"]) == (
        "deliver", "bclerk", "测试受理B岗", "测试受理岗")


def test_completing_a_non_window_first_step_or_as_admin_makes_no_owner(client, hall):
    people = hall
    deploy(client, people, "owner_loop.bpmn")
    case = start(client, people, "owner_loop")
    _accept(client, people, case, "admin")  # admin holds no post: no first-inquiry owner
    assert _open(client, people, case)[0]["owner"] is None
    step = _review(client, people, case, "supplement")["next_tasks"][0]
    assert step["assignee"] is None
    _do(client, people, step["id"], "clerk", {})  # the first window task a clerk completes
    detail, tasks = _open(client, people, case)
    assert detail["owner"] == "clerk"
    assert _do(client, people, tasks["review"]["id"], "approver", {"decision": "grant"})["next_tasks"][0][
        "assignee"] == "clerk"


def test_taking_ownership_writes_the_case_row_once(client, hall):
    people = hall
    deploy(client, people, "owner_loop.bpmn")
    case = start(client, people, "owner_loop")
    _accept(client, people, case, "clerk")
    detail, _ = _open(client, people, case)
    assert detail["owner"] == "clerk" and detail["version"] == case["version"] + 1
