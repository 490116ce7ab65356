"""Timer values as Camunda Modeler writes them: an absolute date, and a repeating cycle."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.engine.timers import is_iso_literal, parse_cycle
from app.extensions import db
from app.timers import service as timers
from app.timers.models import Timer
from tests.conftest import deploy


@pytest.mark.parametrize("text", ["PT5M", "P3D", "P1Y2M", "R3/PT1H", "R/P1D", "2026-12-01T09:00:00+08:00",
                                  "2026-12-01", "PT0.5S"])
def test_bare_iso_values_are_literals(text):
    assert is_iso_literal(text)


@pytest.mark.parametrize("text", ['"PT5M"', "due_in", "timedelta(days=1)", "P", "PT"])
def test_expressions_are_not_literals(text):
    assert not is_iso_literal(text)


def test_cycle_forms():
    now = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)
    assert parse_cycle("R3/PT1H", now)[0] == 3
    cycles, first, period = parse_cycle("R/2026-11-26T09:00:00+08:00/P1D", now)
    assert cycles == -1 and first == datetime(2026, 11, 26, 1, 0, tzinfo=UTC) and period.days == 1


def test_time_date_then_a_two_time_cycle(in_app, client, people, clock):
    deploy(client, people, "reminders.bpmn")
    case = client.post("/api/v1/process-definitions/reminders/instances", json={}, headers=people.auth("clerk")).json
    assert case["timers"][0]["due_at"] == "2026-12-01T09:00:00+08:00"

    clock.set(datetime(2026, 12, 1, 1, 0, 1, tzinfo=UTC))
    assert in_app(timers.fire_due) == 1

    def open_tasks():
        return client.get("/api/v1/tasks", query_string={"instance": case["id"]}, headers=people.auth("admin")).json

    assert [t["element_id"] for t in open_tasks()["items"]] == ["work"]
    def timer_rows():  # the firing that ran a timer ends its attempt: not counted, no error left behind
        return in_app(lambda: sorted((t.element_id, t.state, t.attempts, t.last_error) for t in db.session.scalars(
            db.select(Timer).where(Timer.instance_id == case["id"]))))

    for hour in (1, 2):
        clock.advance(hours=1)
        assert in_app(timers.fire_due) == 1
        assert sorted(t["element_id"] for t in open_tasks()["items"]).count("reminder") == hour
        # the cycle's last repetition fired too: its timer waits for nothing more
        assert timer_rows() == [("opening", "fired", 0, None), ("remind", "waiting" if hour == 1 else "fired", 0, None)]
    clock.advance(hours=1)
    assert in_app(timers.fire_due) == 0  # R2: two reminders, then the cycle is spent


def test_timer_start_event_is_armed_on_deploy_and_rearmed_once_by_a_new_version(in_app, client, people, clock):
    from tests.conftest import FIXTURES

    first = deploy(client, people, "nightly.bpmn")
    assert first.status_code == 201
    cases = client.get("/api/v1/instances", query_string={"key": "nightly"}, headers=people.auth("clerk")).json
    assert cases["total"] == 1 and cases["items"][0]["started_by"] == "timer-start"
    first_case = cases["items"][0]["id"]

    changed = (FIXTURES / "nightly.bpmn").read_bytes().replace("每晚八点".encode(), "每晚八点整".encode())
    import io

    second = client.post("/api/v1/process-definitions", data={"file": [(io.BytesIO(changed), "nightly.bpmn")]},
                         headers=people.auth("analyst"), content_type="multipart/form-data")
    assert second.status_code == 201
    cases = client.get("/api/v1/instances", query_string={"key": "nightly"}, headers=people.auth("clerk")).json
    states = {c["id"]: c["state"] for c in cases["items"]}
    assert states[first_case] == "cancelled" and list(states.values()).count("running") == 1

    clock.set(datetime(2026, 11, 25, 12, 0, 1, tzinfo=UTC))
    assert in_app(timers.fire_due) == 1  # only the newest version's start timer fires
