"""The sweep visits what can change: each open case and step keeps the date (a step's light, the moment) its
verdict can next change, so that a sweep with nothing due looks at no row however many cases are open, and a
new day's sweep looks only at the rows whose day it is."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from tests.supervision.conftest import ACCEPT, shanghai


@pytest.fixture()
def looked(monkeypatch) -> dict[str, int]:
    """How many times the sweep judged a case's or a step's light."""
    from app.hall.supervision import service

    calls = {"case": 0, "step": 0}

    def counting(name, real):
        def judged(*args, **kwargs):
            calls[name] += 1
            return real(*args, **kwargs)
        return judged

    monkeypatch.setattr(service, "case_light", counting("case", service.case_light))
    monkeypatch.setattr(service, "step_light", counting("step", service.step_light))
    return calls


def _statements(app, sweep) -> list[str]:
    seen: list[str] = []

    def record(conn, cursor, statement, *args) -> None:
        seen.append(statement.split(None, 1)[0].upper())

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        sweep()
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    return seen


def _matter(desk):
    return next(m for m in desk.matters(kind="promised", promised_days=5, green_channel=False)
                if not m.special_procedures)


def test_a_sweep_with_nothing_due_looks_at_no_row_however_many_cases_are_open(app, desk, clock, looked):
    matter = _matter(desk)
    at = shanghai(2026, 11, 23, 9)  # a Monday: a 5-day case is due on Monday next week
    clock.set(at)
    for _ in range(2):
        desk.complete(desk.start(matter)["id"], "accept", ACCEPT)
    desk.sweep()  # the first look at the new cases: each gets the date its light can change
    assert looked == {"case": 2, "step": 0}  # a step knows the moment it turns yellow from its creation
    clock.set(at + timedelta(minutes=1))
    looked.update(case=0, step=0)
    few = _statements(app, desk.sweep)
    assert looked == {"case": 0, "step": 0}

    for _ in range(6):
        desk.complete(desk.start(matter)["id"], "accept", ACCEPT)
    clock.set(at + timedelta(minutes=2))
    desk.sweep()
    assert looked["case"] == 6  # only the new ones
    clock.set(at + timedelta(minutes=3))
    looked.update(case=0, step=0)
    many = _statements(app, desk.sweep)
    assert looked == {"case": 0, "step": 0}
    assert many == few  # the same statements for 8 open cases as for 2
    assert not {"UPDATE", "INSERT", "DELETE"} & set(many)


def test_a_new_days_sweep_looks_only_at_the_rows_whose_day_it_is(app, desk, clock, looked):
    from app.hall.models import HallCase

    matter = _matter(desk)
    clock.set(shanghai(2026, 12, 7, 9))  # Monday
    ids = [desk.start(matter)["id"] for _ in range(3)]
    for cid in ids:
        desk.complete(cid, "accept", ACCEPT)
    desk.sweep()
    with app.app_context():
        due = dict(db.session.execute(sa.select(HallCase.instance_id, HallCase.due_date)
                                      .where(HallCase.instance_id.in_(ids))).all())
        look = dict(db.session.execute(sa.select(HallCase.instance_id, HallCase.look_on)
                                       .where(HallCase.instance_id.in_(ids))).all())
        db.session.remove()
    first = min(look.values())
    assert first > shanghai(2026, 12, 7).date() and all(look[cid] <= due[cid] for cid in ids)
    clock.set(shanghai(first.year, first.month, first.day, 0, 5) - timedelta(days=1))  # the evening before
    looked.update(case=0, step=0)
    desk.sweep()
    assert looked["case"] == 0
    clock.set(shanghai(first.year, first.month, first.day, 0, 5))
    desk.sweep()
    turning = [cid for cid in ids if look[cid] == first]
    assert looked["case"] == len(turning)
    assert {w["instance_id"] for w in desk.warnings(kind="case_yellow") if w["instance_id"] in ids} == set(turning)


def test_a_sweep_with_more_than_a_page_to_do_reads_page_after_page_and_does_it_all(app, desk, clock, monkeypatch):
    from app.hall.supervision import service

    matter = _matter(desk)
    clock.set(shanghai(2027, 1, 4, 9))
    ids = [desk.start(matter)["id"] for _ in range(5)]
    for cid in ids:
        desk.complete(cid, "accept", ACCEPT)
    monkeypatch.setattr(service, "PAGE", 2)
    clock.set(shanghai(2027, 1, 20, 9))  # long past every due date
    counts = desk.sweep()
    assert counts["case_lights"] >= 5 and counts["step_lights"] >= 5
    red = {w["instance_id"] for w in desk.warnings(kind="case_red")}
    assert set(ids) <= red
    assert desk.sweep()["raised"] == 0  # each once
