"""The sweep at scale: a step's warnings close with the step itself (the sweep reads open steps only), and a
sweep with much to do commits in chunks with the same outcome as in one go."""

from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db
from tests.supervision.conftest import ACCEPT, REVIEW, shanghai


def _matter(desk):
    return next(m for m in desk.matters(kind="promised", promised_days=5, green_channel=False)
                if not m.special_procedures)


def test_a_steps_warnings_close_when_the_step_is_done_not_at_the_next_sweep(app, desk, clock):
    from app.hall.models import HallTask

    clock.set(shanghai(2026, 11, 27))
    cid = desk.start(_matter(desk))["id"]
    desk.complete(cid, "accept", ACCEPT)
    review = desk.task(cid, "review")
    clock.set(shanghai(2026, 12, 2, 17, 30))  # past the review's deadline
    desk.sweep()
    assert [w["kind"] for w in desk.warnings(instance=cid)] == ["step_red"]
    desk.complete(cid, "review", REVIEW)
    assert desk.warnings(instance=cid) == []  # no sweep in between
    closed = [w for w in desk.warnings(instance=cid, state="closed") if w["kind"] == "step_red"]
    assert [(w["task_id"], w["note"]) for w in closed] == [(review["id"], "环节已办理")]
    with app.app_context():
        flags = dict(db.session.execute(sa.select(HallTask.task_id, HallTask.is_open)
                                        .where(HallTask.instance_id == cid)).all())
        db.session.remove()
    assert flags[review["id"]] is False and list(flags.values()).count(True) == 1  # the decision's step is open


def test_a_sweep_with_much_to_do_commits_in_chunks_and_raises_each_warning_once(app, desk, clock, monkeypatch):
    from app.audit.models import AuditEntry
    from app.hall.supervision import service

    matter = _matter(desk)
    clock.set(shanghai(2026, 11, 27))
    ids = [desk.start(matter)["id"] for _ in range(3)]
    for cid in ids:
        desk.complete(cid, "accept", ACCEPT)
    commits = []
    monkeypatch.setattr(service, "CHUNK_ROWS", 1)  # a commit after every row changed
    with app.app_context():
        session = db.session()  # the context's own session: the listener goes with it

        def committed(_session) -> None:
            commits.append(1)

        sa.event.listen(session, "after_commit", committed)
        clock.set(shanghai(2026, 12, 5))  # after the due date: every case and its review go red
        counts = service.sweep()
        db.session.remove()
    assert counts["case_lights"] >= 3 and counts["step_lights"] >= 3 and "skipped" not in counts
    assert len(commits) >= counts["case_lights"] + counts["step_lights"]
    for cid in ids:
        assert desk.case(cid)["light"] == "red"
        open_now = desk.warnings(instance=cid)
        assert sorted(w["kind"] for w in open_now) == ["case_red", "step_red"]
        with app.app_context():
            audited = db.session.scalars(sa.select(AuditEntry.details).where(
                AuditEntry.instance_id == cid, AuditEntry.action == "supervision.warning")).all()
            db.session.remove()
        assert sorted(d["warning_id"] for d in audited if d["level"] == "red") == sorted(w["id"] for w in open_now)
    assert desk.sweep()["raised"] == 0  # nothing left over, nothing twice


def test_the_warnings_total_is_counted_up_to_a_cap(desk, clock, monkeypatch):
    from app.hall.supervision import service

    clock.set(shanghai(2026, 11, 27))
    cid = desk.start(_matter(desk))["id"]
    desk.complete(cid, "accept", ACCEPT)
    clock.set(shanghai(2026, 12, 2, 17, 30))  # past the review's deadline: a step_red
    desk.sweep()
    listed = desk.ok("GET", "/supervision/warnings", desk.ops, params={"instance": cid})
    assert (listed["total"], listed["total_capped"]) == (1, False)
    monkeypatch.setattr(service, "COUNT_CAP", 0)
    capped = desk.ok("GET", "/supervision/warnings", desk.ops, params={"instance": cid})
    assert (capped["total"], capped["total_capped"], len(capped["items"])) == (0, True, 1)
