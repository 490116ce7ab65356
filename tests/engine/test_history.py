"""A case's finished past is forgotten by the engine: a step's cost and state size stay flat as it loops."""

from __future__ import annotations

from pathlib import Path

from app.engine.case import Case
from app.engine.compiler import compile_bpmn

LOOP = Path(__file__).resolve().parents[2] / "tools" / "bench_data" / "loop.bpmn"


def _loop_case() -> Case:
    process = compile_bpmn(LOOP.read_bytes(), "loop.bpmn")[0]
    return Case.start(process, {"applicant": "张三"})


def test_a_long_loop_keeps_a_small_tree_and_its_data():
    case = _loop_case()
    sizes = []
    for round_no in range(1200):  # SpiffWorkflow's own iterator gives up past ~333 rounds of this loop unpruned
        task = case.open_user_tasks()[0]
        case.complete(task.id, {"more": True, "round": round_no})
        sizes.append(len(case.workflow.tasks))
    assert max(sizes[100:]) == max(sizes[:10])
    assert case.data()["applicant"] == "张三" and case.data()["round"] == 1199
    state = case.dump()
    assert len(state) < 5000

    restored = Case.load(case.process, state)
    last = restored.open_user_tasks()[0]
    restored.complete(last.id, {"more": False})
    assert restored.snapshot().state == "completed"
    assert restored.data()["round"] == 1199


def test_pruning_keeps_waiting_timers_and_parallel_branches():
    fixtures = Path(__file__).resolve().parents[1] / "fixtures"
    process = compile_bpmn((fixtures / "two_step.bpmn").read_bytes(), "two_step.bpmn")[0]
    case = Case.start(process, {})
    case.complete(case.open_user_tasks()[0].id, {"applicant": "甲", "materials_complete": True})
    snap = case.snapshot()
    assert [t.element_id for t in snap.user_tasks] == ["approve"]
    assert [t.element_id for t in snap.timers] == ["approve_overdue"]
    restored = Case.load(process, case.dump())
    assert [t.element_id for t in restored.snapshot().timers] == ["approve_overdue"]


def test_completing_a_forgotten_task_is_not_ready():
    import pytest

    from app.engine.errors import TaskNotReady

    case = _loop_case()
    first = case.open_user_tasks()[0].id
    for _ in range(3):
        case.complete(case.open_user_tasks()[0].id, {"more": True})
    with pytest.raises(TaskNotReady):
        case.complete(first, {"more": True})
