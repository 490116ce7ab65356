"""Open tasks per post are kept by triggers as changes (post_tally) and folded now and then: after every kind of
move — a case started, a task claimed, released, completed, reassigned to the backup post, a case cancelled —
the tally equals a count of the open tasks, before and after folding, and GET /posts shows it."""

from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db
from tests.supervision.conftest import ACCEPT, SHORT, Desk, hall, shanghai, supervisor_of  # noqa: F401 (fixture)


def _counted() -> dict[str, tuple[int, int]]:
    from app.tasks.models import UserTask

    return {post: (n, claimed) for post, n, claimed in db.session.execute(
        sa.select(UserTask.post, sa.func.count(), sa.func.count(UserTask.assignee))
        .where(UserTask.state == "open", UserTask.post.is_not(None)).group_by(UserTask.post))}


def _agrees(app) -> dict[str, tuple[int, int]]:
    from app.tasks import service as tasks

    with app.app_context():
        tally = {post: counts for post, counts in tasks.open_by_post().items() if counts != (0, 0)}
        counted = _counted()
        db.session.remove()
    assert tally == counted
    return counted


def test_the_tally_of_open_tasks_per_post_follows_every_move_and_survives_folding(app, hall, clock):  # noqa: F811
    from app.tasks import service as tasks

    desk = Desk(app, hall)
    clock.set(shanghai(2026, 12, 7, 9))
    matter = next(m for m in desk.matters(kind="promised", green_channel=False) if not m.special_procedures)
    accept_post = f"{SHORT[matter.department_code]}受理A岗"
    ids = [desk.start(matter)["id"] for _ in range(4)]
    assert _agrees(app)[accept_post][0] >= 4
    first = desk.task(ids[0], "accept")
    clerk = hall.holder(accept_post)
    desk.ok("POST", f"/tasks/{first['id']}/claim", clerk)
    assert _agrees(app)[accept_post][1] >= 1
    desk.ok("POST", f"/tasks/{first['id']}/unclaim", clerk)
    _agrees(app)
    desk.complete(ids[1], "accept", ACCEPT)  # leaves the window post, a review waits at the department's
    _agrees(app)
    with app.app_context():
        assert tasks.fold_post_tally() > 0
        db.session.remove()
    _agrees(app)
    backup = f"{SHORT[matter.department_code]}受理B岗"
    moved = desk.task(ids[2], "accept")
    desk.ok("POST", f"/tasks/{moved['id']}/reassign", supervisor_of(matter.department_code),
            json={"post": backup, "reason": "A岗窗口暂停"})
    assert _agrees(app).get(backup, (0, 0))[0] >= 1
    desk.ok("POST", f"/instances/{ids[3]}/cancel", desk.ops, json={"reason": "申请人撤回"})
    _agrees(app)
    counted = _agrees(app)
    with app.app_context():
        tasks.fold_post_tally()
        rows = db.session.execute(sa.text("SELECT post, count(*) FROM post_tally GROUP BY post")).all()
        db.session.remove()
    assert all(n == 1 for _, n in rows)  # folded: one row a post
    assert _agrees(app) == counted
    posts = {p["name"]: p for p in desk.ok("GET", "/posts", desk.ops)["items"]}
    assert (posts[accept_post]["open_tasks"], posts[accept_post]["claimed_tasks"]) == counted[accept_post]
