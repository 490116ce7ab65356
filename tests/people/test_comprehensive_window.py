"""综合窗口: a step with several candidate groups waits at each of them. The comprehensive window's clerk takes
a department's acceptance, owns the case at the comprehensive window, and gets its later window steps; a clerk
of another department sees none of it; the comprehensive window's backup covers while its clerk is away."""

from __future__ import annotations

from app.extensions import db
from tests.people.conftest import absent


def _start(client, people, user="front"):
    response = client.post("/api/v1/process-definitions/shared_window/instances", json={"data": {}},
                           headers=people.auth(user))
    assert response.status_code == 201, response.json
    return response.json


def _tasks(client, people, user, **query):
    response = client.get("/api/v1/tasks", query_string=query, headers=people.auth(user))
    assert response.status_code == 200, response.json
    return response.json["items"]


def _complete(client, people, task_id, user, data):
    return client.post(f"/api/v1/tasks/{task_id}/complete", json={"data": data}, headers=people.auth(user))


def test_the_comprehensive_window_accepts_owns_and_delivers(client, front):
    people = front
    case = _start(client, people)
    accept = case["tasks"][0]
    assert (accept["post"], accept["other_posts"]) == ("测试受理岗", ["综合受理A岗"])
    # both windows see it in their queues, and by post; the other department's clerk does not
    assert [t["id"] for t in _tasks(client, people, "front")] == [accept["id"]]
    assert [t["id"] for t in _tasks(client, people, "clerk")] == [accept["id"]]
    assert [t["id"] for t in _tasks(client, people, "front", post="综合受理A岗")] == [accept["id"]]
    assert _tasks(client, people, "other") == []
    assert client.get(f"/api/v1/tasks/{accept['id']}", headers=people.auth("other")).status_code == 404
    refused = _complete(client, people, accept["id"], "other", {"applicant": "李四", "materials_complete": True})
    assert refused.status_code in (403, 404)

    done = _complete(client, people, accept["id"], "front", {"applicant": "李四", "materials_complete": True})
    assert done.status_code == 200, done.json
    detail = client.get(f"/api/v1/instances/{case['id']}", headers=people.auth("front")).json
    assert (detail["owner"], detail["owner_post"]) == ("front", "综合受理A岗")
    review = done.json["next_tasks"][0]
    assert review["element_id"] == "review"
    supplement = _complete(client, people, review["id"], "approver", {"decision": "supplement"}).json["next_tasks"]
    # the owner's step comes back to them at the comprehensive window, though its first candidate is the department's
    assert [(t["element_id"], t["assignee"], t["post"], t["other_posts"]) for t in supplement] == [
        ("supplement_check", "front", "综合受理A岗", ["综合受理A岗"])]
    assert client.post(f"/api/v1/tasks/{supplement[0]['id']}/claim", headers=people.auth("clerk")).status_code == 409
    assert _complete(client, people, supplement[0]["id"], "front", {}).status_code == 200


def test_a_department_clerk_accepting_owns_at_the_department_window(client, front):
    people = front
    case = _start(client, people, user="clerk")
    done = _complete(client, people, case["tasks"][0]["id"], "clerk", {"applicant": "王五", "materials_complete": True})
    assert done.status_code == 200, done.json
    detail = client.get(f"/api/v1/instances/{case['id']}", headers=people.auth("clerk")).json
    assert (detail["owner"], detail["owner_post"]) == ("clerk", "测试受理岗")
    # once taken, the step is no longer in the comprehensive window's queue or case list
    assert _tasks(client, people, "front") == []
    assert client.get(f"/api/v1/instances/{case['id']}", headers=people.auth("front")).status_code == 404


def test_the_comprehensive_backup_covers_while_its_clerk_is_away(client, front):
    people = front
    case = _start(client, people, user="clerk")
    accept = case["tasks"][0]
    assert _tasks(client, people, "frontb") == []
    assert absent(client, people, "front", "2026-11-25", "2026-11-26", "外出", as_user="center").status_code == 201
    assert [t["id"] for t in _tasks(client, people, "frontb")] == [accept["id"]]
    done = _complete(client, people, accept["id"], "frontb", {"applicant": "赵六", "materials_complete": True})
    assert done.status_code == 200, done.json
    detail = client.get(f"/api/v1/instances/{case['id']}", headers=people.auth("frontb")).json
    assert (detail["owner"], detail["owner_post"]) == ("frontb", "综合受理A岗")


def test_open_tasks_from_before_candidates_were_kept_get_them_at_bootstrap(app, client, front):
    from app.tasks.models import TaskCandidate
    from app.tasks.service import backfill_candidates

    people = front
    case = _start(client, people, user="clerk")
    with app.app_context():  # as an older version left it: no candidate rows
        db.session.execute(TaskCandidate.__table__.delete())
        db.session.commit()
    assert _tasks(client, people, "front") == []
    with app.app_context():
        assert backfill_candidates() == 1
        db.session.commit()
        assert backfill_candidates() == 0
        db.session.commit()
    assert [t["id"] for t in _tasks(client, people, "front")] == [case["tasks"][0]["id"]]


def test_a_finished_tasks_candidate_rows_stay_as_its_record_but_leave_the_lists(app, client, front):
    from app.tasks.models import TaskCandidate

    people = front
    case = _start(client, people, user="clerk")
    accept = case["tasks"][0]
    assert [t["id"] for t in _tasks(client, people, "front", post="综合受理A岗")] == [accept["id"]]
    done = _complete(client, people, accept["id"], "clerk", {"applicant": "王五", "materials_complete": True})
    assert done.status_code == 200, done.json
    with app.app_context():
        rows = db.session.execute(db.select(TaskCandidate.post, TaskCandidate.is_open)
                                  .where(TaskCandidate.task_id == accept["id"])).all()
    assert rows == [("综合受理A岗", False)]  # kept (where it could have been worked), closed
    # the finished task still names its further candidate post; no list of that post shows it, in any state
    shown = client.get(f"/api/v1/tasks/{accept['id']}", headers=people.auth("clerk")).json
    assert (shown["state"], shown["other_posts"]) == ("completed", ["综合受理A岗"])
    assert _tasks(client, people, "front", post="综合受理A岗") == []
    assert _tasks(client, people, "front", post="综合受理A岗", state="completed") == []
    assert [t["id"] for t in _tasks(client, people, "clerk", post="测试受理岗", state="completed")] == [accept["id"]]
