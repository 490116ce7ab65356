"""A clerk's case list walks the sources of their access (people.access.case_sources: their departments, their own
starts, case_party, the tasks passing by their posts) and merges them. Through claims, releases, completions,
moves, absences and further candidate posts, case_party stays exactly what the tasks say, and every user's list —
page by page, by cursor and by offset, and its total — is the list of every case case_scope lets them see, which is
what their tasks say they may see, and the check of one case (may_see_case) agrees."""

from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db
from app.hall.window import search
from app.instances.models import ProcessInstance
from app.people import access
from app.people.auth import Principal
from app.people.models import User
from app.tasks.models import UserTask
from tests.people.conftest import absent

USERS = ("clerk", "clerk2", "approver", "boss", "other", "otherboss", "bclerk", "front", "frontb", "center", "many")


def _principal(username: str) -> Principal:
    user = db.session.scalar(sa.select(User).where(User.username == username))
    return Principal(user.id, user.username, user.name, tuple(user.roles), tuple(user.post_names), user.window_no,
                     departments=tuple(user.department_codes))


def _parties_by_tasks() -> set[tuple[str, str, int]]:
    """case_party as worked out from user_task now: (case, party, tasks naming it)."""
    counts: dict[tuple[str, str], int] = {}
    for task in db.session.scalars(sa.select(UserTask)):
        named = {f"u:{v}" for v in (task.assignee, task.completed_by) if v} | \
                {f"p:{v}" for v in (task.post, task.home_post) if v}
        for party in named:
            counts[(task.instance_id, party)] = counts.get((task.instance_id, party), 0) + 1
    return {(case, party, n) for (case, party), n in counts.items()}


def _seen_by_tasks(user: Principal) -> list[str]:
    """The cases the user may see, worked out from their tasks (not case_party), newest first: their starts, their
    departments', and any with a task they hold, held or completed, that goes back to them, or that is or was at
    their posts (or waits at one they cover as a further candidate post)."""
    took_part = sa.select(UserTask.instance_id).where(
        UserTask.instance_id == ProcessInstance.id,
        sa.or_(UserTask.assignee == user.username, UserTask.completed_by == user.username, access._kept_for(user),
               *access._at_posts(user)))
    scope = [ProcessInstance.started_by == user.username, took_part.exists()]
    if user.departments:
        scope.append(ProcessInstance.department_code.in_(user.departments))
    if user.is_(*access.SEE_ALL):
        scope = [sa.true()]
    return list(db.session.scalars(sa.select(ProcessInstance.id).where(sa.or_(*scope))
                                   .order_by(ProcessInstance.started_at.desc(), ProcessInstance.id)))


def _check(app) -> None:
    with app.app_context():
        kept = {tuple(r) for r in db.session.execute(sa.text("SELECT instance_id, party, tasks FROM case_party"))}
        assert kept == _parties_by_tasks()
        for username in USERS:
            user = _principal(username)
            ordered = search.query(user, search.Filters()).order_by(search.hall.CASE.started_at.desc(),
                                                                   search.hall.CASE.id)
            expected = [c.id for c in db.session.scalars(ordered)]
            assert expected == _seen_by_tasks(user), username
            by_cursor, after = [], None
            while True:
                page, total = search.find(user, search.Filters(), limit=2, after=after)
                assert total == len(expected), username
                by_cursor += [c.id for c in page]
                if len(page) < 2:
                    break
                after = search.cursor(search.next_cursor(page))
            assert by_cursor == expected, username
            by_offset = [c.id for c in search.find(user, search.Filters(), limit=3, offset=1)[0]]
            assert by_offset == expected[1:4], username
            # one case at a time (a case's page, the masking of identifiers) decides the same
            every = db.session.scalars(sa.select(ProcessInstance)).all()
            assert {c.id for c in every if access.may_see_case(user, c)} == set(expected), username
        db.session.remove()


def _call(client, people, method, path, user, **kwargs):
    response = client.open(f"/api/v1{path}", method=method, headers=people.auth(user), **kwargs)
    assert response.status_code in (200, 201), response.json
    return response.json


def test_each_list_is_exactly_what_the_user_may_see(app, client, front, clock):
    people = front
    from app.people import service
    from app.people.auth import issue_token

    with app.app_context():  # posts of which some have no case
        people.tokens["many"] = issue_token(service.upsert_user("many", "多岗", ["clerk"],
                                                                ["综合受理B岗", "测试受理B岗", "测试审批岗"]))
        db.session.commit()

    def start(key: str, user: str) -> dict:
        return _call(client, people, "POST", f"/process-definitions/{key}/instances", user, json={"data": {}})

    cases = [start("two_step", "clerk"), start("shared_window", "clerk"), start("two_step", "clerk2")]
    clock.advance(minutes=5)
    cases += [start("shared_window", "front"), start("two_step", "center"), start("shared_window", "clerk")]
    _check(app)

    # a claim and its release; a completion by someone who never claimed; the next step at another post
    first = cases[0]["tasks"][0]["id"]
    _call(client, people, "POST", f"/tasks/{first}/claim", "clerk")
    _check(app)
    _call(client, people, "POST", f"/tasks/{first}/unclaim", "clerk")
    done = _call(client, people, "POST", f"/tasks/{cases[2]['tasks'][0]['id']}/complete", "clerk2",
                 json={"data": {"applicant": "张三", "materials_complete": True}})
    _check(app)
    # the comprehensive window takes a department's acceptance (a further candidate post)
    _call(client, people, "POST", f"/tasks/{cases[1]['tasks'][0]['id']}/complete", "front",
          json={"data": {"applicant": "李四", "materials_complete": True}})
    _check(app)
    # a supervisor moves a task to the backup post, then everyone at the post is away (routing to the backup)
    _call(client, people, "POST", f"/tasks/{cases[4]['tasks'][0]['id']}/reassign", "boss",
          json={"post": "测试受理B岗", "reason": "调整"})
    _check(app)
    for username in ("clerk", "clerk2"):
        assert absent(client, people, username, "2026-11-25", "2026-11-27").status_code == 201
    assert absent(client, people, "front", "2026-11-25", "2026-11-26", as_user="center").status_code == 201
    _check(app)
    review = done["next_tasks"][0]["id"]
    _call(client, people, "POST", f"/tasks/{review}/complete", "approver", json={"data": {"decision": "grant"}})
    _check(app)
