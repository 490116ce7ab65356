"""Moving a running case to another version of its process (Camunda's migration model), on SpiffWorkflow's diff.

- A `Plan` maps every element of the source version to the target: the same id by default, an explicit
  `mapping` {source element: target element} where ids changed. SpiffWorkflow's `SpecDiff` compares each
  aligned pair; its structural guesses (a renamed task in the same place) are only offered as suggestions,
  never applied: a token moves where the analyst said.
- `check` tells, for one case, what would happen to each active element, or why the target cannot hold the
  case's state (a waiting task, timer or message catch with no counterpart, an element whose type changed,
  a multi-instance in flight, a subprocess in flight whose structure changed, a call activity in flight that
  now calls another process...). It changes nothing.
- `migrate` transforms the task tree with `migrate_workflow` (the active tasks keep their ids; what they
  would do next is predicted again from the target), keeps what a reset would lose (a timer's due date in
  its internal `event_value`), arms boundary events the target adds to an active task, dumps the state and
  loads it back on the target's spec: a state the target cannot load is refused before anything is stored.

The engine knows nothing of the database: the service rebuilds the case's rows from the snapshots.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.bpmn.util.diff import SpecDiff, WorkflowDiff, migrate_workflow
from SpiffWorkflow.exceptions import TaskNotFoundException
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from .case import Case
from .compiler import CompiledProcess
from .errors import CaseFailed, EngineError
from .moments import as_utc
from .script import Clock
from .state import _SERIALIZER  # the converters the stored state uses describe a spec for the diff too
from .timers import ClockedDuration, is_iso_literal, is_timer_task, timer_due, timers_of
from .workflow import ProcessResolver

ACTIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED
_PREDICTED = TaskState.PREDICTED_MASK | TaskState.FUTURE
_DERIVED = (".BoundaryEventSplit", ".BoundaryEventJoin", " [child]")  # specs the parser adds around an element
_NOT_CHANGES = {"name", "inputs", "outputs", "bpmn_id"}  # a rename or a new neighbour is not a change of the element


class PlanError(EngineError):
    """A mapping that names elements the versions do not have."""

    def __init__(self, message: str, details: dict | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class MigrationRefused(EngineError):
    """The target cannot hold this case's state; `reasons` says why, one line per element."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = reasons


@dataclass
class Plan:
    source: CompiledProcess
    target: CompiledProcess
    mapping: dict[str, str]  # as given
    diffs: dict[str, SpecDiff | None]  # source spec name -> its diff against the target spec (None: no target)
    targets: dict[str, Any]  # source spec name -> the target spec
    suggested: dict[str, str] = field(default_factory=dict)  # SpiffWorkflow's structural guesses, not applied

    def counterpart(self, owner: str, task_spec):
        diff = self.diffs.get(owner)
        return diff.alignment.get(task_spec) if diff is not None else None

    def changes(self, owner: str, task_spec) -> list[str]:
        diff = self.diffs.get(owner)
        found = diff.comparisons.get(task_spec, []) if diff is not None else []
        return [c for c in found if c not in _NOT_CHANGES]


@dataclass
class Report:
    """What happens to one case: each active element, each timer, and the reasons it cannot move."""

    elements: list[dict] = field(default_factory=list)
    timers: list[dict] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.reasons


def _specs(process: CompiledProcess) -> dict[str, Any]:
    return {process.spec.name: process.spec,
            **{name: spec for name, spec in process.subprocess_specs.items() if spec is not None}}


def plan(source: CompiledProcess, target: CompiledProcess, mapping: dict[str, str] | None = None) -> Plan:
    """Align every element of `source` with `target`: same id, or the one `mapping` names."""
    mapping = dict(mapping or {})
    old_specs, new_specs = _specs(source), _specs(target)
    old_owner = {ts.name: owner for owner, spec in old_specs.items() for ts in spec.task_specs.values()}
    new_owner = {ts.name: owner for owner, spec in new_specs.items() for ts in spec.task_specs.values()}
    owners = {source.spec.name: target.spec.name}
    problems = []
    for old, new in mapping.items():
        if old not in old_owner:
            problems.append(f"映射的源元素 {old} 在源版本中不存在 (unknown source element)")
        elif new not in new_owner:
            problems.append(f"映射的目标元素 {new} 在目标版本中不存在 (unknown target element)")
        elif old in old_specs:  # a subprocess itself: its own elements follow it
            owners[old] = new
    for old, new in mapping.items():
        if old in old_owner and new in new_owner:
            expected = owners.get(old_owner[old], old_owner[old])
            if new_owner[new] != expected:
                problems.append(f"映射 {old} → {new} 跨越了子流程边界 (a mapping must stay in the same (sub)process)")
    if problems:
        raise PlanError("迁移计划无效：" + "；".join(problems), {"problems": problems})
    expanded = dict(mapping)
    for old, new in mapping.items():
        for suffix in _DERIVED:
            if f"{old}{suffix}" in old_owner and f"{new}{suffix}" in new_owner:
                expanded.setdefault(f"{old}{suffix}", f"{new}{suffix}")
    diffs: dict[str, SpecDiff | None] = {}
    targets: dict[str, Any] = {}
    suggested: dict[str, str] = {}
    for owner, spec in old_specs.items():
        new_spec = new_specs.get(owners.get(owner, owner))
        targets[owner] = new_spec
        if new_spec is None:
            diffs[owner] = None
            continue
        diff = SpecDiff(_SERIALIZER.registry, spec, new_spec)
        guessed = dict(diff.alignment)
        alignment = {}
        for task_spec in spec.task_specs.values():
            counterpart = new_spec.task_specs.get(expanded.get(task_spec.name, task_spec.name))
            alignment[task_spec] = counterpart
            guess = guessed.get(task_spec)
            if counterpart is None and guess is not None and task_spec.bpmn_id and guess.bpmn_id:
                suggested[task_spec.bpmn_id] = guess.bpmn_id
        diff.alignment = alignment
        diff.comparisons = {ts: _compare(diff, ts, new) for ts, new in alignment.items() if new is not None}
        used = set(id(ts) for ts in alignment.values() if ts is not None)
        diff.added = [ts for ts in new_spec.task_specs.values() if id(ts) not in used]
        diffs[owner] = diff
    return Plan(source, target, mapping, diffs, targets, suggested)


def _compare(diff: SpecDiff, old, new) -> list[str]:
    try:
        return diff._compare_task_specs(old, new)
    except Exception:  # a spec the registry cannot describe: compared by type only
        return [] if type(old) is type(new) else ["typename"]


# ------------------------------------------------------------------------------------------------ per case

def _workflows(workflow):
    """(workflow, owner spec name, how it runs) of the case and each of its subprocesses in flight.

    'call': a called process, or anything inside one: it runs its own bound version and is left as it is.
    """
    yield workflow, workflow.spec.name, "top", None
    for task_id, sub in workflow.subprocesses.items():
        parent = workflow.get_task_from_id(task_id)
        yield sub, sub.spec.name, "call" if _called(workflow, sub) else "embedded", parent


def _called(workflow, sub) -> bool:
    """A process called from another file (bound to its own version), or anything running inside one.

    SpiffWorkflow builds embedded subprocesses as call activities too; what tells them apart is the binding.
    """
    while sub is not None and sub is not workflow:
        if sub.spec.name in workflow.bindings:
            return True
        sub = getattr(sub, "parent_workflow", None)
    return False


def _kind(task) -> str:
    spec = task.task_spec
    if spec.manual:
        return "user_task"
    if is_timer_task(task):
        return "timer"
    if isinstance(spec, SubWorkflowTask):
        return "call_activity" if spec.spec in task.workflow.top_workflow.bindings else "subprocess"
    if getattr(spec, "event_definition", None) is not None:
        return "event"
    return type(spec).__name__


def _label(task_spec) -> str:
    name = getattr(task_spec, "bpmn_name", None)
    element = getattr(task_spec, "bpmn_id", None) or task_spec.name
    return f"{name}（{element}）" if name and name != element else element


def check(case: Case, plan: Plan, target_version: int | None = None) -> Report:
    """What migrating this case would do, or why it cannot move; changes nothing."""
    report = Report()
    to = f"第 {target_version} 版" if target_version else "目标版本"
    for workflow, owner, how, _ in _workflows(case.workflow):
        if how == "call":
            continue  # a called process runs its own bound version; its call activity is checked above it
        if owner not in plan.diffs:
            report.reasons.append(f"子流程 {owner} 不属于源版本 (unknown subprocess)")
            continue
        for task in workflow.get_tasks(skip_subprocesses=True):
            if task.has_state(_PREDICTED):
                continue  # predictions are made again from the target
            _check_task(task, workflow, owner, plan, report, to)
    return report


def _check_task(task, workflow, owner: str, plan: Plan, report: Report, to: str) -> None:
    spec = task.task_spec
    target = plan.counterpart(owner, spec)
    active = task.has_state(ACTIVE)
    label = _label(spec)
    if target is None:
        if active:
            report.reasons.append(f"办件停在 {label}，{to}没有对应元素，迁移计划也未映射 "
                                  f"(no counterpart for the active element {spec.bpmn_id or spec.name})")
        elif task is not workflow.task_tree:  # a finished root becomes the target's start: it only holds data
            report.reasons.append(f"已完成的 {label} 仍在进行中的分支上，{to}没有对应元素 "
                                  f"(a finished element still on an active branch has no counterpart)")
        return
    if type(target) is not type(spec):
        if active or task is not workflow.task_tree:
            report.reasons.append(f"{label} 在{to}中类型不同（{type(spec).__name__} → {type(target).__name__}）"
                                  f" (element type changed)")
        return
    if not active:
        return
    if isinstance(spec, LoopTask) or spec.name.endswith(" [child]"):
        report.reasons.append(f"{label} 是进行中的多实例或循环，暂不能迁移 (a multi-instance or loop in flight)")
        return
    changes = plan.changes(owner, spec)
    if task.state == TaskState.STARTED and isinstance(spec, SubWorkflowTask):
        _check_subprocess(spec, target, spec.spec in task.workflow.top_workflow.bindings, plan, report, to, label)
    element = {"element": spec.bpmn_id or spec.name, "to": target.bpmn_id or target.name, "kind": _kind(task),
               "state": TaskState.get_name(task.state).lower(), "changes": changes}
    if spec.bpmn_id:
        report.elements.append(element)
    if is_timer_task(task):
        due = timer_due(task)
        report.timers.append({"element": spec.bpmn_id, "to": target.bpmn_id, "due_from": due,
                              "due_to": due if "event_definition" not in changes else None,
                              "how": "kept" if "event_definition" not in changes else "recounted"})


def _check_subprocess(spec, target, called: bool, plan: Plan, report: Report, to: str, label: str) -> None:
    if called:
        same = (getattr(spec, "called_element", spec.spec), getattr(spec, "binding", None),
                getattr(spec, "version", None)) == (getattr(target, "called_element", target.spec),
                                                     getattr(target, "binding", None), getattr(target, "version", None))
        if not same:
            report.reasons.append(f"调用活动 {label} 进行中，{to}调用的流程不同 (a call activity in flight calls "
                                  f"another process in the target)")
        return
    diff = plan.diffs.get(spec.spec)
    if diff is None or diff.removed or diff.added or diff.changed or plan.targets.get(spec.spec) is None \
            or plan.targets[spec.spec].name != target.spec:
        report.reasons.append(f"子流程 {label} 进行中，{to}中其结构已改变 (a subprocess in flight whose structure "
                              f"changed)")


def migrate(case: Case, plan: Plan, clock: Clock, resolver: ProcessResolver | None = None,
            target_version: int | None = None) -> tuple[Case, Report]:
    """The case moved to the plan's target (a new `Case`), or `MigrationRefused` with the reasons.

    The given case's workflow is changed in place: load the case afresh for anything else.
    """
    report = check(case, plan, target_version)
    if not report.ok:
        raise MigrationRefused(report.reasons)
    workflow = case.workflow
    case.set_clock(clock)
    kept = {task.id: (task.task_spec, dict(task.internal_data), timer_due(task))
            for task in workflow.get_tasks(state=TaskState.WAITING) if is_timer_task(task)}
    for sub, owner, how, _ in list(_workflows(workflow)):
        if how == "call":
            continue
        _migrate_one(sub, plan, owner)
    workflow.subprocess_specs = {**{n: s for n, s in workflow.subprocess_specs.items()
                                    if n not in plan.source.subprocess_specs},
                                 **plan.target.subprocess_specs}
    report.timers = _restore_timers(workflow, kept, report.timers)
    report.timers += _arm_boundaries(workflow)
    stale = [task.task_spec.name for sub, owner, how, _ in _workflows(workflow) if how != "call"
             for task in sub.get_tasks(skip_subprocesses=True)
             if sub.spec.task_specs.get(task.task_spec.name) is not task.task_spec]
    if stale:  # a safety net: a task still on a source spec would not load on the target
        raise MigrationRefused([f"迁移后仍有元素引用源版本：{', '.join(sorted(set(stale)))} (internal check)"])
    state = case.dump()
    try:
        moved = Case.load(plan.target, state, clock, resolver=resolver)
        moved.snapshot()
    except (CaseFailed, KeyError, ValueError) as exc:
        raise MigrationRefused([f"迁移后的状态无法在目标版本上加载：{exc} (the migrated state does not load)"]) from None
    return moved, report


def _migrate_one(sub, plan: Plan, owner: str) -> None:
    diff = plan.diffs[owner]
    target = plan.targets[owner]
    changes = WorkflowDiff(sub, diff)
    root = sub.task_tree
    if changes.alignment.get(root) is None:
        changes.alignment[root] = target.start  # what the root of a fresh case is: it only holds data
    migrate_workflow(changes, sub, target)
    # A subprocess or call activity in flight is STARTED, not reset: what it does next is predicted again.
    # (So is a service task waiting for a worker: its outputs are predicted again, or completing it would end there.)
    for task in sub.get_tasks(state=TaskState.STARTED, skip_subprocesses=True):
        task._drop_children()
        task._sync_children(task.task_spec.outputs, TaskState.FUTURE)
        for child in task.children:
            child.task_spec._predict(child, mask=_PREDICTED)


def _restore_timers(workflow, kept: dict, planned: list[dict]) -> list[dict]:
    """A reset forgets when a timer fires: an unchanged timer keeps its due date; a changed duration counts
    from when the old one started; any other changed timer starts again now (what the reset computed)."""
    by_element = {t["element"]: t for t in planned}
    result = []
    for task_id, (old_spec, internal, old_due) in kept.items():
        try:
            task = workflow.get_task_from_id(task_id)
        except TaskNotFoundException:  # made anew below a reset task: it waits from now
            continue
        if not is_timer_task(task):
            continue
        entry = dict(by_element.get(old_spec.bpmn_id) or {"element": old_spec.bpmn_id, "to": task.task_spec.bpmn_id,
                                                          "due_from": old_due})
        old_timer = next(iter(timers_of(old_spec.event_definition)), None)
        new_timer = next(iter(timers_of(task.task_spec.event_definition)), None)
        if _same_timer(old_timer, new_timer):
            task.internal_data = internal
            entry["how"] = "kept"
        else:
            recounted = _recount(old_timer, new_timer, old_due)
            if recounted is not None:
                task._set_internal_data(event_value=recounted.isoformat())
                entry["how"] = "recounted"
            else:
                entry["how"] = "restarted"
        entry["due_to"] = timer_due(task)
        result.append(entry)
    return result


def _same_timer(old, new) -> bool:
    return old is not None and new is not None and type(old) is type(new) and \
        (old.expression or "").strip() == (new.expression or "").strip()


def _recount(old, new, old_due: datetime | None) -> datetime | None:
    """The new duration counted from the moment the old timer started (its due date minus its duration)."""
    if not (isinstance(old, ClockedDuration) and isinstance(new, ClockedDuration) and old_due is not None):
        return None
    old_text, new_text = (old.expression or "").strip(), (new.expression or "").strip()
    if not (is_iso_literal(old_text) and is_iso_literal(new_text)):
        return None
    started = old_due - TimerEventDefinition.get_timedelta_from_end(
        TimerEventDefinition.parse_iso_duration(old_text), old_due)
    return as_utc((started + TimerEventDefinition.get_timedelta_from_start(
        TimerEventDefinition.parse_iso_duration(new_text), started)).isoformat())


def _arm_boundaries(workflow) -> list[dict]:
    """Boundary events the target attaches to an active task: the split is put above it and its events wait."""
    armed = []
    for sub, _, how, _ in list(_workflows(workflow)):
        if how == "call":
            continue
        for task in list(sub.get_tasks(state=TaskState.READY | TaskState.STARTED, skip_subprocesses=True)):
            split_spec = next((i for i in task.task_spec.inputs if isinstance(i, BoundaryEventSplit)), None)
            if split_spec is None:
                continue
            split = task.parent
            if split is None or split.task_spec is not split_spec:
                split = _insert_split(sub, task, split_spec)
            present = {child.task_spec for child in split.children}
            for output in split_spec.outputs:
                if output in present:
                    continue
                event = split._add_child(output, TaskState.FUTURE)
                event.data = dict(split.data)
                output._update(event)
                if is_timer_task(event):
                    armed.append({"element": output.bpmn_id, "to": output.bpmn_id, "due_from": None,
                                  "due_to": timer_due(event), "how": "armed"})
    return armed


def _insert_split(sub, task, split_spec):
    parent = task.parent
    split = Task(sub, split_spec, parent=parent, state=TaskState.COMPLETED)
    split.data = dict(task.data)
    split.thread_id = task.thread_id
    parent._children.remove(task.id)
    task._parent = split.id
    split._children.append(task.id)
    return split
