"""A running case: one SpiffWorkflow workflow and what the service needs to know about it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException, TaskNotFoundException, WorkflowException
from SpiffWorkflow.util.task import TaskState

from .compiler import CompiledProcess
from .errors import CaseFailed, TaskNotReady
from .history import prune_finished_history
from .sandbox import DEFAULT_LIMITS, SandboxLimits
from .script import Clock, ClockedScriptEngine, system_clock
from .state import dump_state, load_state
from .timers import timer_due, waiting_timer_tasks


@dataclass(frozen=True)
class OpenUserTask:
    id: str
    element_id: str
    name: str
    post: str | None
    form_key: str


@dataclass(frozen=True)
class WaitingTimer:
    task_id: str
    element_id: str
    name: str
    due_at: datetime
    kind: str  # 'boundary' | 'catch' | 'start'


@dataclass(frozen=True)
class WaitingMessage:
    task_id: str
    element_id: str
    name: str


@dataclass(frozen=True)
class Step:
    """A task the engine finished by itself (gateway, event, script...)."""

    element_id: str
    name: str
    kind: str


@dataclass
class Snapshot:
    state: str  # running | completed | error
    data: dict[str, Any]
    user_tasks: list[OpenUserTask] = field(default_factory=list)
    timers: list[WaitingTimer] = field(default_factory=list)
    messages: list[WaitingMessage] = field(default_factory=list)
    error: str | None = None


class Case:
    def __init__(self, process: CompiledProcess, workflow: BpmnWorkflow) -> None:
        self.process = process
        self.workflow = workflow
        self.steps: list[Step] = []
        self.baseline: Snapshot | None = None  # the state last written; set by the service layer

    # --- creating and restoring -------------------------------------------------------------------
    @classmethod
    def start(cls, process: CompiledProcess, data: dict[str, Any], clock: Clock = system_clock, *,
              limits: SandboxLimits = DEFAULT_LIMITS) -> "Case":
        workflow = BpmnWorkflow(process.spec, process.subprocess_specs,
                                script_engine=ClockedScriptEngine(clock, limits=limits))
        workflow.task_tree.data.update(data)
        for task in workflow.get_tasks(state=TaskState.READY):
            task.data.update(data)
        case = cls(process, workflow)
        case._advance()
        return case

    @classmethod
    def load(cls, process: CompiledProcess, state: str, clock: Clock = system_clock, *,
             limits: SandboxLimits = DEFAULT_LIMITS) -> "Case":
        workflow = load_state(state, process.spec, process.subprocess_specs)
        workflow.script_engine = ClockedScriptEngine(clock, limits=limits)
        return cls(process, workflow)

    def set_clock(self, clock: Clock) -> None:
        self.workflow.script_engine.now = clock

    def set_limits(self, limits: SandboxLimits) -> None:
        """The script sandbox's limits for this case's next steps (a cached case follows the app's config)."""
        self.workflow.script_engine.limits = limits

    def dump(self) -> str:
        return dump_state(self.workflow)

    # --- actions ----------------------------------------------------------------------------------
    def complete(self, task_id: str, data: dict[str, Any]) -> None:
        task = self._ready_user_task(task_id)
        task.data.update(data)
        self._run(task.run)
        self._advance()

    def fire_timers(self) -> None:
        self._run(self.workflow.refresh_timers)
        self._advance()

    def deliver_message(self, name: str, payload: dict[str, Any]) -> bool:
        """Deliver a message to this case; False when nothing in it waits for that name."""
        waiting = [m for m in self.waiting_messages() if m.name == name]
        if not waiting:
            return False
        event = BpmnEvent(MessageEventDefinition(name), payload=dict(payload))
        self._run(lambda: self.workflow.catch(event))
        self._advance()
        return True

    def cancel(self) -> None:
        self.workflow.cancel()

    # --- what the service reads -------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        if self.workflow.is_completed():
            state = "completed"
        else:
            state = "running"
        snap = Snapshot(state=state, data=self.data(), user_tasks=self.open_user_tasks(),
                        timers=self.waiting_timers(), messages=self.waiting_messages())
        if state == "running" and not self._anything_open():
            snap.state = "error"
            snap.error = "流程停滞：没有待办任务，也没有等待中的事件 (the case stalled)"
        return snap

    def data(self) -> dict[str, Any]:
        if self.workflow.is_completed():
            return dict(self.workflow.data)
        last = self.workflow.last_task
        if last is not None:
            return dict(last.data)
        return dict(self.workflow.task_tree.data)

    def open_user_tasks(self) -> list[OpenUserTask]:
        result = []
        for task in self._all_tasks(TaskState.READY):
            meta = self.process.user_tasks.get(task.task_spec.bpmn_id)
            if meta is None or not task.task_spec.manual:
                continue
            result.append(OpenUserTask(str(task.id), meta.element_id, meta.name, meta.post, meta.form_key))
        return result

    def waiting_timers(self) -> list[WaitingTimer]:
        result = []
        for workflow in self._workflows():
            for task in waiting_timer_tasks(workflow):
                due = timer_due(task)
                if due is None:
                    continue
                spec = task.task_spec
                kind = ("boundary" if type(spec).__name__ == "BoundaryEvent"
                        else "start" if type(spec).__name__ == "StartEvent" else "catch")
                result.append(WaitingTimer(str(task.id), spec.bpmn_id or spec.name,
                                           spec.bpmn_name or spec.bpmn_id or spec.name, due, kind))
        return result

    def waiting_messages(self) -> list[WaitingMessage]:
        result = []
        for task in self._all_tasks(TaskState.WAITING):
            definition = getattr(task.task_spec, "event_definition", None)
            for message in _messages_of(definition):
                result.append(WaitingMessage(str(task.id), task.task_spec.bpmn_id, message.name))
        return result

    # --- internals --------------------------------------------------------------------------------
    def _workflows(self):
        return [self.workflow, *self.workflow.subprocesses.values()]

    def _all_tasks(self, state):
        for workflow in self._workflows():
            yield from workflow.get_tasks(state=state)

    def _anything_open(self) -> bool:
        """A case that is neither done nor waiting for a person or an event has stalled."""
        return any(True for _ in self._all_tasks(TaskState.READY | TaskState.WAITING))

    def _ready_user_task(self, task_id: str):
        try:
            task = self.workflow.get_task_from_id(UUID(task_id))
        except (ValueError, TypeError, TaskNotFoundException):  # unknown, or finished and forgotten
            task = None
        if task is None or task.state != TaskState.READY or not task.task_spec.manual:
            raise TaskNotReady(task_id)
        return task

    def _advance(self) -> None:
        def record(task):
            spec = task.task_spec
            if spec.bpmn_id:
                self.steps.append(Step(spec.bpmn_id, spec.bpmn_name or spec.bpmn_id, type(spec).__name__))
        self._run(lambda: self.workflow.do_engine_steps(did_complete_task=record))
        prune_finished_history(self.workflow)

    @staticmethod
    def _run(action) -> None:
        try:
            action()
        except WorkflowException as exc:
            task = getattr(exc, "task", None)
            element = getattr(getattr(task, "task_spec", None), "bpmn_id", None)
            raise CaseFailed(str(exc), element) from None
        except SpiffWorkflowException as exc:
            raise CaseFailed(str(exc)) from None


def _messages_of(definition):
    if definition is None:
        return
    if isinstance(definition, MessageEventDefinition):
        yield definition
    for inner in getattr(definition, "event_definitions", None) or ():
        yield from _messages_of(inner)
