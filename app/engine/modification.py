"""Instance modification: moving a running case's token by hand (Camunda's "process instance modification").

Instructions, applied in order to the live workflow:
- `cancel`: an activity that is active now — by element (`activity_id`: every active instance of it) or by
  task (`task_id`: one instance). A task with boundary events goes with them; an embedded subprocess or call
  activity goes with everything inside it; a (sub)process left with nothing active is cancelled with it.
- `startBeforeActivity`: a new token before an element (it runs as if a flow had just reached it: a user task
  waits, a gateway decides, a timer starts), with the given variables; inside a subprocess only while an
  instance of it is active.

What the engine cannot do is refused with the element and the reason (`ModificationRefused`), before anything
changes: moving into or out of a multi-instance activity in flight (its instances count their own tokens), a
target inside a subprocess that is not active, an element that is not active (cancel), a boundary or start
event, an event subprocess's inside, an unknown element, and a modification that would leave the case with
nothing to do. SpiffWorkflow keeps no way to do this itself (`reset_from_task_id` needs the task in the tree,
and our history pruning drops finished tasks): this builds the new token from the spec, as SpiffWorkflow's own
engine steps do when a flow reaches a task.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import EventSubprocess, SubWorkflowTask
from SpiffWorkflow.exceptions import TaskNotFoundException
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from .errors import EngineError

ACTIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED


class ModificationRefused(EngineError):
    """An instruction the engine cannot carry out on this case: `conflict` (the case's state does not allow it:
    409) or `invalid` (the instruction itself is wrong: 422)."""

    def __init__(self, message: str, element: str | None, kind: str = "conflict", index: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.element = element
        self.kind = kind
        self.index = index


@dataclass(frozen=True)
class Instruction:
    type: str  # cancel | startBeforeActivity
    activity_id: str | None = None
    task_id: str | None = None  # cancel: one active instance (a task row's id)
    variables: dict[str, Any] = field(default_factory=dict)  # startBeforeActivity: data of the new token


@dataclass
class Applied:
    """What a modification did, element by element."""

    cancelled: list[dict] = field(default_factory=list)  # {element_id, name, task_id}
    started: list[dict] = field(default_factory=list)  # {element_id, name, process}


def modify(workflow, instructions: list[Instruction]) -> Applied:
    """Apply the instructions to the workflow; ModificationRefused (nothing changed) when one cannot be."""
    plan = [_plan(workflow, index, instruction) for index, instruction in enumerate(instructions)]
    applied = Applied()
    carried: dict[int, dict] = {}  # workflow id → the data of a token cancelled there, for the new one
    for step in plan:
        if step[0] == "cancel":
            for task in step[1]:
                if task.has_state(TaskState.FINISHED_MASK):
                    continue  # already gone with an enclosing activity cancelled before
                carried.setdefault(id(task.workflow), copy.deepcopy(task.data))
                applied.cancelled.append(_describe(task))
                _scope(task).cancel()
    for step in plan:
        if step[0] == "start":
            _, target_workflow, spec, instruction = step
            data = carried.get(id(target_workflow)) or _current_data(target_workflow)
            _start_before(target_workflow, spec, {**data, **instruction.variables})
            applied.started.append({"element_id": spec_element(spec), "name": _spec_name(spec),
                                    "process": target_workflow.spec.name})
    _close_empty_scopes(workflow)
    return applied


def _plan(workflow, index: int, instruction: Instruction):
    if instruction.type == "cancel":
        return "cancel", _active_instances(workflow, index, instruction)
    if instruction.type == "startBeforeActivity":
        target_workflow, spec = _target(workflow, index, instruction.activity_id)
        return "start", target_workflow, spec, instruction
    raise ModificationRefused(f"未知的修改指令类型 {instruction.type}（支持 cancel、startBeforeActivity）",
                              instruction.activity_id, "invalid", index)


# -- cancel -------------------------------------------------------------------------------------------------------
def _active_instances(workflow, index: int, instruction: Instruction) -> list:
    if instruction.task_id:
        try:
            task = workflow.get_task_from_id(UUID(instruction.task_id))
        except (ValueError, TypeError, TaskNotFoundException):
            task = None
        if task is None or not task.has_state(ACTIVE) or not spec_element(task.task_spec):
            raise ModificationRefused(f"任务 {instruction.task_id} 不是办件当前的活动，不能取消",
                                      instruction.activity_id, "conflict", index)
        found = [task]
    else:
        element = instruction.activity_id
        if not element:
            raise ModificationRefused("cancel 需要 activityId 或 activityInstanceId", None, "invalid", index)
        _known(workflow, element, index)
        found = [t for t in workflow.get_tasks(state=ACTIVE) if spec_element(t.task_spec) == element
                 and not isinstance(t.task_spec, BoundaryEvent)]
        found = [t for t in found if not _inside_same_element(t)]
        if not found:
            raise ModificationRefused(f"元素 {element} 当前没有进行中的实例，不能取消 (not active)", element,
                                      "conflict", index)
    for task in found:
        loop = _enclosing_loop(task)
        if loop is not None:
            raise ModificationRefused(
                f"{_label(task.task_spec)} 在进行中的多实例活动 {_label(loop.task_spec)} 之内，不能单独移出"
                f"（多实例自行计数其实例；可取消整个多实例活动 {spec_element(loop.task_spec)}）",
                spec_element(task.task_spec), "conflict", index)
    return found


def _inside_same_element(task) -> bool:
    """An MI's instance of the element itself (its child spec carries the same element id): the MI is the one."""
    parent = task.parent
    return parent is not None and isinstance(parent.task_spec, LoopTask) and \
        spec_element(parent.task_spec) == spec_element(task.task_spec)


def _enclosing_loop(task):
    """The active multi-instance (or loop) activity this task runs inside, if any (its own workflow or above)."""
    node, workflow = task.parent, task.workflow
    while True:
        while node is not None:
            if isinstance(node.task_spec, LoopTask) and node.has_state(ACTIVE):
                return node
            node = node.parent
        if workflow.parent_task_id is None:
            return None
        holder = workflow.top_workflow.get_task_from_id(workflow.parent_task_id)
        node, workflow = holder, holder.workflow


def _scope(task):
    """What cancelling a task cancels: its boundary construct with it (its own split above it)."""
    parent = task.parent
    if parent is not None and isinstance(parent.task_spec, BoundaryEventSplit) and \
            parent.task_spec.name == f"{task.task_spec.name}.BoundaryEventSplit":
        return parent
    return task


def _close_empty_scopes(workflow) -> None:
    """A subprocess left with nothing active is cancelled, its activity with it (innermost first)."""
    changed = True
    while changed:
        changed = False
        for holder_id, sub in list(workflow.subprocesses.items()):
            if sub.completed:
                continue
            if any(True for _ in sub.get_tasks(state=ACTIVE)):
                continue
            holder = workflow.get_task_from_id(holder_id)
            if holder is not None and holder.has_state(ACTIVE):
                _scope(holder).cancel()
                changed = True


# -- start before ---------------------------------------------------------------------------------------------------
def _target(workflow, index: int, element: str | None):
    if not element:
        raise ModificationRefused("startBeforeActivity 需要 activityId", None, "invalid", index)
    spec, owner = _known(workflow, element, index)
    if isinstance(spec, BoundaryEvent):
        raise ModificationRefused(f"{_label(spec)} 是边界事件，只能由其附着的活动触发，不能作为目标", element,
                                  "invalid", index)
    if isinstance(spec, StartEvent):
        raise ModificationRefused(f"{_label(spec)} 是开始事件，不能作为目标（请从其后的活动开始）", element,
                                  "invalid", index)
    entry = owner.task_specs.get(f"{spec.name}.BoundaryEventSplit", spec)
    if owner is workflow.spec:
        target_workflow = workflow
    else:
        holders = [w for w in workflow.subprocesses.values() if w.spec is owner and not w.completed]
        if not holders:
            raise ModificationRefused(f"{_label(spec)} 在子流程 {owner.name} 之内，而该子流程当前不在进行中 "
                                      "(a target inside a subprocess that is not active)", element, "conflict", index)
        if len(holders) > 1:
            raise ModificationRefused(f"{_label(spec)} 所在的子流程 {owner.name} 有 {len(holders)} 个进行中的实例，"
                                      "无法确定放在哪一个", element, "conflict", index)
        target_workflow = holders[0]
        holder = workflow.get_task_from_id(target_workflow.parent_task_id)
        if isinstance(holder.task_spec, EventSubprocess):
            raise ModificationRefused(f"{_label(spec)} 在事件子流程之内，只能由其事件启动", element, "invalid", index)
        loop = _enclosing_loop(holder) if not isinstance(holder.task_spec, LoopTask) else holder
        if loop is not None or (holder.parent is not None and isinstance(holder.parent.task_spec, LoopTask)):
            raise ModificationRefused(f"{_label(spec)} 在进行中的多实例活动之内，不能移入", element, "conflict", index)
    for task in target_workflow.get_tasks(state=ACTIVE):
        if isinstance(task.task_spec, LoopTask) and spec_element(task.task_spec) == element:
            raise ModificationRefused(f"多实例活动 {_label(spec)} 正在进行，不能再移入 (a multi-instance in flight)",
                                      element, "conflict", index)
    return target_workflow, entry


def _known(workflow, element: str, index: int):
    """The spec of an element of the case's processes (its own: not the boundary split or an MI's child SpiffWorkflow
    adds around it, which carry the same element id under other names), and the process spec it belongs to."""
    specs = [workflow.spec, *(s for s in workflow.subprocess_specs.values() if s is not None)]
    for owner in specs:
        spec = owner.task_specs.get(element)
        if spec is not None and spec_element(spec) == element:
            return spec, owner
    raise ModificationRefused(f"流程中没有元素 {element} (unknown element)", element, "invalid", index)


def _start_before(workflow, spec, data: dict) -> None:
    """A token reaches `spec` as a flow would: a predicted task updated by SpiffWorkflow (its children predicted,
    a subprocess started, a join checked), then given the token's data."""
    task = _anchor(workflow)._add_child(spec, TaskState.LIKELY)
    spec._update(task)
    task.data = copy.deepcopy(data)
    subworkflow = workflow.top_workflow.subprocesses.get(task.id)
    if subworkflow is not None and isinstance(spec, SubWorkflowTask):
        spec.copy_data(task, subworkflow)  # it started with the anchor's data: give it the token's


def _anchor(workflow):
    """The task a new token hangs from: a new, finished root of the workflow's tree holding the old root beside
    it. Not a task of the flow: a token under a boundary split or a gateway would be counted by them."""
    old = workflow.task_tree
    root = Task(workflow, workflow.spec.start, state=TaskState.COMPLETED)
    old._parent = root.id
    root._children.append(old.id)
    workflow.task_tree = root
    return root


def _current_data(workflow) -> dict:
    last = workflow.last_task
    source = last if last is not None else workflow.task_tree
    return copy.deepcopy(source.data)


# -- names ----------------------------------------------------------------------------------------------------------
def spec_element(spec) -> str | None:
    return getattr(spec, "bpmn_id", None)


def _spec_name(spec) -> str:
    return getattr(spec, "bpmn_name", None) or spec_element(spec) or spec.name


def _label(spec) -> str:
    name = getattr(spec, "bpmn_name", None)
    element = spec_element(spec) or spec.name
    return f"{name}（{element}）" if name else element


def _describe(task) -> dict:
    return {"element_id": spec_element(task.task_spec), "name": _spec_name(task.task_spec), "task_id": str(task.id)}


def is_subprocess(spec) -> bool:
    return isinstance(spec, SubWorkflowTask)
