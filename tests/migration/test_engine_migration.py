"""The engine's migration on diagrams of the conformance suite: what moves, what is refused and why."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.engine import migration
from app.engine.case import Case
from app.engine.compiler import compile_bpmn
from tests.migration.bpmn_edit import Diagram

DIAGRAMS = Path(__file__).resolve().parents[1] / "conformance" / "diagrams"


def clock() -> datetime:
    return datetime(2026, 11, 25, 1, 0, tzinfo=UTC)


def compiled(name: str, replace: tuple[bytes, bytes] | None = None, key: str | None = None,
             rename: tuple[str, str] | None = None):
    content = (DIAGRAMS / name).read_bytes()
    if rename:
        content = Diagram(content).rename(*rename).bytes()
    if replace:
        assert replace[0] in content
        content = content.replace(*replace)
    processes = compile_bpmn(content, name)
    return next(p for p in processes if key is None or p.key == key)


def test_a_multi_instance_in_flight_is_refused():
    v1 = compiled("multi_instance.bpmn")
    v2 = compiled("multi_instance.bpmn", (b'name="\xe4\xbe\x9d\xe6\xac\xa1\xe7\xad\xbe\xe5\xad\x97"', b'name="sign"'))
    case = Case.start(v1, {"reviewers": ["a", "b"]}, clock)
    assert case.open_user_tasks()
    report = migration.check(case, migration.plan(v1, v2), 2)
    assert not report.ok and any("多实例" in r for r in report.reasons), report.reasons
    with pytest.raises(migration.MigrationRefused):
        migration.migrate(case, migration.plan(v1, v2), clock)


def test_an_unchanged_subprocess_in_flight_moves_and_a_changed_one_is_refused():
    v1 = compiled("embedded_subprocess.bpmn")
    case = Case.start(v1, {}, clock)
    (task,) = case.open_user_tasks()
    assert task.element_id == "task_a"
    same_inside = compiled("embedded_subprocess.bpmn", (b'name="\xe6\x94\xb6\xe5\xb0\xbe"', b'name="wrap up"'))
    moved, report = migration.migrate(case, migration.plan(v1, same_inside), clock)
    assert [t.id for t in moved.open_user_tasks()] == [task.id]
    assert {e["element"] for e in report.elements} >= {"outer", "task_a"}
    moved.complete(task.id, {})
    assert [t.element_id for t in moved.open_user_tasks()] == ["task_b"]

    case = Case.start(v1, {}, clock)
    changed_inside = compiled("embedded_subprocess.bpmn", (b'id="task_a" name="\xe5\xa4\x96\xe5\xb1\x82\xe4\xbb\xbb\xe5\x8a\xa1"',
                                                           b'id="task_a" name="changed" camunda:formKey="x"'))
    report = migration.check(case, migration.plan(v1, changed_inside))
    assert not report.ok and any("子流程" in r for r in report.reasons), report.reasons


def test_a_waiting_message_catch_maps_or_is_refused():
    v1 = compiled("between_cases.bpmn", key="conf_requester")
    case = Case.start(v1, {}, clock)
    (task,) = case.open_user_tasks()
    case.complete(task.id, {})
    (waiting,) = case.waiting_messages()
    assert waiting.element_id == "wait_done"
    renamed = compiled("between_cases.bpmn", key="conf_requester", rename=("wait_done", "wait_result"))
    renamed_spec = renamed.spec.task_specs
    assert "wait_result" in renamed_spec
    report = migration.check(case, migration.plan(v1, renamed))
    assert not report.ok and "wait_done" in report.reasons[0]
    moved, _ = migration.migrate(case, migration.plan(v1, renamed, {"wait_done": "wait_result"}), clock)
    (now_waiting,) = moved.waiting_messages()
    assert now_waiting.task_id == waiting.task_id and now_waiting.element_id == "wait_result"
    assert moved.deliver_message(waiting.name, {"ok": True})


def test_a_mapping_naming_unknown_elements_is_a_plan_error():
    v1 = compiled("embedded_subprocess.bpmn")
    with pytest.raises(migration.PlanError) as caught:
        migration.plan(v1, v1, {"task_a": "nowhere", "ghost": "task_a"})
    assert len(caught.value.details["problems"]) == 2
    with pytest.raises(migration.PlanError):
        migration.plan(v1, v1, {"task_a": "task_c"})  # out of its subprocess


DATA = {"reminder": "PT1H", "amount": 5, "area": 10, "approved": True, "kind": "a", "items": [1], "fire": False,
        "fail": False}


@pytest.mark.parametrize("name", ["event_gateway.bpmn", "timers.bpmn", "boundary_events.bpmn", "event_subprocesses.bpmn",
                                  "gateways.bpmn", "boundary_subprocess.bpmn", "transaction.bpmn",
                                  "embedded_subprocess.bpmn"])
def test_a_case_moved_to_an_identical_version_keeps_its_tasks_timers_and_subscriptions(name):
    v1, v2 = compiled(name), compiled(name)  # two parses: the same diagram, other spec objects
    case = Case.start(v1, dict(DATA), clock)
    if case.open_user_tasks():
        case.complete(case.open_user_tasks()[0].id, {"outcome": "done", "choice": "done"})
    before = case.snapshot()
    moved, report = migration.migrate(case, migration.plan(v1, v2), clock)
    after = moved.snapshot()
    assert report.ok and after.state == before.state
    assert [(t.id, t.element_id) for t in after.user_tasks] == [(t.id, t.element_id) for t in before.user_tasks]
    assert [(t.task_id, t.due_at) for t in after.timers] == [(t.task_id, t.due_at) for t in before.timers]
    assert [(m.task_id, m.name) for m in after.messages] == [(m.task_id, m.name) for m in before.messages]
    assert moved.process is v2
