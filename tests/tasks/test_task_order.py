"""A task list's order — rank (`priority`, higher first), then due date (none last), age and id — is the same
whichever way the list is read: the first page from the post's index walk, deeper pages by offset, the list of a
post's clerk and the list of every post (admin)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from app.extensions import db
from tests.supervision.conftest import SHORT, Desk, hall, shanghai  # noqa: F401 (fixture)


def _expected(post: str | None) -> list[str]:
    from app.tasks.models import UserTask

    rows = db.session.scalars(sa.select(UserTask).where(UserTask.state == "open",
                                                         *([UserTask.post == post] if post else [])))
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    return [t.id for t in sorted(rows, key=lambda t: (-t.priority, t.due_at or far, t.created_at, t.id))]


def test_rank_then_due_date_on_every_page(app, hall, clock):  # noqa: F811
    from app.tasks.models import UserTask

    desk = Desk(app, hall)
    clock.set(shanghai(2026, 12, 7, 9))
    matter = next(m for m in desk.matters(kind="promised", green_channel=False) if not m.special_procedures)
    post = f"{SHORT[matter.department_code]}受理A岗"
    ids = []
    for _ in range(9):
        ids.append(desk.start(matter)["id"])
        clock.advance(minutes=1)
    with app.app_context():  # ranks and due dates of every kind, ties included
        tasks = db.session.scalars(sa.select(UserTask).where(UserTask.instance_id.in_(ids))).all()
        for n, task in enumerate(sorted(tasks, key=lambda t: t.id)):
            task.priority = (0, 1, 0, 2, 1, 0, 0, 1, 0)[n]
            task.due_at = (None, shanghai(2026, 12, 9, 17), None, shanghai(2026, 12, 8, 17),
                           shanghai(2026, 12, 8, 17), shanghai(2026, 12, 10, 17), None, None,
                           shanghai(2026, 12, 8, 17))[n]
        db.session.commit()
        expected, everywhere = _expected(post), _expected(None)
        db.session.remove()
    clerk = hall.holder(post)
    listed = [t["id"] for t in desk.ok("GET", "/tasks", clerk, params={"post": post, "limit": 50})["items"]]
    assert listed == expected
    for offset in range(0, len(expected), 4):
        page = desk.ok("GET", "/tasks", clerk, params={"post": post, "limit": 4, "offset": offset})["items"]
        assert [t["id"] for t in page] == expected[offset:offset + 4]
    assert [t["id"] for t in desk.ok("GET", "/tasks", desk.admin, params={"limit": 50})["items"]] == everywhere[:50]
