"""A running case: one SpiffWorkflow workflow and what the service needs to know about it."""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit, _EndJoin
from SpiffWorkflow.bpmn.specs.defaults import EventSubprocess
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import SignalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.exceptions import SpiffWorkflowException, TaskNotFoundException, WorkflowException
from SpiffWorkflow.util.task import TaskState

from . import external, modification
from .budget import DEFAULT_ENGINE_LIMITS, Budget, EngineLimits, LimitExceeded, check_branches, check_state_size
from .compiler import CompiledProcess
from .errors import CaseFailed, TaskNotReady
from .external import OpenExternalTask
from .history import prune_finished_history
from .sandbox import DEFAULT_LIMITS, SandboxLimits
from .script import Clock, ClockedScriptEngine, system_clock
from .specs import PRIORITY_NORMAL, HumanTaskMixin, merge_outputs, merge_shared
from .state import StateError, dump_state, load_state, read_state
from .timers import ClockedStartCycle, event_definitions, is_timer_task, rescheduled, timer_due, waiting_timer_tasks
from .workflow import ProcessResolver, TongbanWorkflow


def _failing_element(exc: BaseException) -> str | None:
    """The diagram element whose task spec raised `exc` (from the traceback's frames), if any."""
    tb, element = exc.__traceback__, None
    while tb is not None:
        spec = tb.tb_frame.f_locals.get("self")
        task = tb.tb_frame.f_locals.get("my_task")
        found = getattr(getattr(task, "task_spec", None), "bpmn_id", None) or getattr(spec, "bpmn_id", None)
        element = found or element
        tb = tb.tb_next
    return element


def _as_data(payload: Any) -> dict[str, Any]:
    """A payload as data to merge into a case: an object as it is, anything else under `payload`."""
    if payload is None:
        return {}
    return dict(payload) if isinstance(payload, dict) else {"payload": payload}


def canonical_correlations(correlations: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """Correlation keys as comparable text: (key, its properties as sorted JSON), sorted by key."""
    return tuple(sorted((str(key), json.dumps(value, sort_keys=True, ensure_ascii=False, default=str))
                        for key, value in (correlations or {}).items() if value))


log = logging.getLogger(__name__)

# (start, days) -> the same time of day, that many working days later: the service's business calendar, for
# timers that declare it (`tongban.calendar`, see timers.py)
WorkingDays = Callable[[datetime, int], datetime]


@dataclass(frozen=True)
class OpenUserTask:
    id: str
    element_id: str
    name: str
    post: str | None
    form_key: str | None
    process_key: str | None = None  # the process the task belongs to (a subprocess or called process)
    candidate_users: tuple[str, ...] = ()
    assignee: str | None = None  # whom the diagram gives it to (camunda:assignee, worked out when it opened)
    other_posts: tuple[str, ...] = ()  # further candidate groups: posts where the task may be worked as well
    priority: int = PRIORITY_NORMAL  # its rank in a post's list, higher first (camunda:priority)
    due_at: datetime | None = None  # when the diagram says it is due (camunda:dueDate)


@dataclass(frozen=True)
class WaitingTimer:
    task_id: str
    element_id: str
    name: str
    due_at: datetime
    kind: str  # 'boundary' | 'catch' | 'start' | 'gateway'
    attached_to: str | None = None  # the element a boundary timer is attached to


@dataclass(frozen=True)
class WaitingMessage:
    task_id: str
    element_id: str
    name: str
    kind: str = "message"  # 'message' | 'signal'
    # the declared correlation keys of the (sub)process that waits, as (key, canonical JSON of its properties)
    correlations: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Step:
    """A task the engine finished by itself (gateway, event, script...)."""

    element_id: str
    name: str
    kind: str


@dataclass(frozen=True)
class OutgoingEvent:
    """A message or signal a case threw that nothing inside it caught: for other cases."""

    kind: str  # 'message' | 'signal'
    name: str
    payload: Any  # the case data (a plain message), or what a payload expression gave (any JSON)
    correlations: dict[str, Any]


@dataclass
class Snapshot:
    state: str  # running | completed | error
    data: dict[str, Any]
    user_tasks: list[OpenUserTask] = field(default_factory=list)
    timers: list[WaitingTimer] = field(default_factory=list)
    messages: list[WaitingMessage] = field(default_factory=list)
    external_tasks: list[OpenExternalTask] = field(default_factory=list)  # service tasks waiting for a worker
    error: str | None = None
    error_element: str | None = None


_CHUNK = 200  # automatic steps between two prunings of the task tree


class _Pause(Exception):
    """Ends one chunk of automatic steps (raised before a step runs, so nothing is half done)."""


def _bounded(action):
    """One engine run (an action of the case) within the case's budget of steps and seconds (budget.py)."""

    def run(self, *args, **kwargs):
        if self._budget is not None:  # an action inside an action shares the outer budget
            return action(self, *args, **kwargs)
        self._budget = Budget(self.engine_limits)
        self.fired_timers = set()
        try:
            return action(self, *args, **kwargs)
        except LimitExceeded as exc:
            exc.instance_id = self.instance_id
            raise
        finally:
            self._budget = None

    run.__name__, run.__doc__ = action.__name__, action.__doc__
    return run


class Case:
    def __init__(self, process: CompiledProcess, workflow: TongbanWorkflow) -> None:
        self.process = process
        self.workflow = workflow
        self.steps: list[Step] = []
        self.outbox: list[OutgoingEvent] = []
        self.baseline: Snapshot | None = None  # the state last written; set by the service layer
        self.instance_id: str | None = None  # the service's id of the case, for the limits' reports
        self.fired_timers: set[str] = set()  # the timer tasks the last action ran (fired), by task id
        self._budget: Budget | None = None

    @property
    def engine_limits(self) -> EngineLimits:
        return getattr(self.workflow.script_engine, "engine_limits", None) or DEFAULT_ENGINE_LIMITS

    def set_engine_limits(self, limits: EngineLimits) -> None:
        """The engine's limits for this case's next runs (steps, seconds, branches, instances...: budget.py)."""
        self.workflow.script_engine.engine_limits = limits

    # --- creating and restoring -------------------------------------------------------------------
    @classmethod
    def start(cls, process: CompiledProcess, data: dict[str, Any], clock: Clock = system_clock,
              resolver: ProcessResolver | None = None, event: BpmnEvent | None = None,
              script_engine=None, *, limits: SandboxLimits = DEFAULT_LIMITS,
              working_days: WorkingDays | None = None, engine_limits: EngineLimits | None = None,
              start_cycle: dict | None = None) -> "Case":
        """A new case. `start_cycle`: the state of its start event's cycle (`timers.next_start_cycle`), for the
        case a cycle arms after its previous case started."""
        engine = script_engine or ClockedScriptEngine(clock, limits=limits)
        engine.working_days = working_days
        engine.engine_limits = engine_limits or DEFAULT_ENGINE_LIMITS
        workflow = TongbanWorkflow(process.spec, process.subprocess_specs, script_engine=engine, resolver=resolver)
        workflow.task_tree.data.update(data)
        for task in workflow.get_tasks(state=TaskState.READY):
            task.data.update(data)
        if start_cycle is not None:
            for task in workflow.get_tasks():
                if isinstance(getattr(task.task_spec, "event_definition", None), ClockedStartCycle):
                    task._set_internal_data(event_value=dict(start_cycle))
        case = cls(process, workflow)
        case._begin(event)
        return case

    @_bounded
    def _begin(self, event: BpmnEvent | None) -> None:
        self._advance()
        if event is not None:  # a message or signal start: the waiting start event catches it
            name, payload = event.event_definition.name, event.payload
            if isinstance(event.event_definition, MessageEventDefinition):
                self.deliver_message(name, payload, event.correlations)
            else:
                self.deliver_signal(name, payload)

    @classmethod
    def load(cls, process: CompiledProcess, state: str, clock: Clock = system_clock,
             resolver: ProcessResolver | None = None, script_engine=None, *,
             limits: SandboxLimits = DEFAULT_LIMITS, working_days: WorkingDays | None = None) -> "Case":
        try:
            dct = read_state(state, process.spec, process.subprocess_specs)
            extra = dct.pop("tongban", {}) or {}
            specs = dict(process.subprocess_specs)
            bound = {}
            for name, ref in (extra.get("bindings") or {}).items():
                called = resolver.by_ref(ref) if resolver is not None else None
                if called is None:
                    raise StateError(f"调用的流程 {name} ({ref}) 已不存在")
                specs[name] = called.spec
                for sub_name, sub_spec in called.subprocess_specs.items():
                    specs.setdefault(sub_name, sub_spec)
                bound[name] = ref
            workflow = load_state(dct, process.spec, specs)
        except StateError as exc:
            raise CaseFailed(str(exc)) from None
        workflow.script_engine = script_engine or ClockedScriptEngine(clock, limits=limits)
        workflow.script_engine.working_days = working_days
        workflow.resolver = resolver
        workflow.bindings = bound
        return cls(process, workflow)

    def set_clock(self, clock: Clock) -> None:
        self.workflow.script_engine.now = clock

    def set_limits(self, limits: SandboxLimits) -> None:
        """The script sandbox's limits for this case's next steps (a cached case follows the app's config)."""
        self.workflow.script_engine.limits = limits

    def dump(self) -> str:
        try:
            text = dump_state(self.workflow, {"bindings": self.workflow.bindings} if self.workflow.bindings else None)
        except StateError as exc:
            last = self.workflow.last_task
            element = getattr(getattr(last, "task_spec", None), "bpmn_id", None) if last is not None else None
            raise CaseFailed(str(exc), element, code="case_not_saved") from None
        try:
            check_state_size(len(text), self.engine_limits)
        except LimitExceeded as exc:
            exc.instance_id = self.instance_id
            raise
        return text

    # --- actions ----------------------------------------------------------------------------------
    @_bounded
    def complete(self, task_id: str, data: dict[str, Any], *, actor: str | None = None,
                 at: datetime | None = None, shared: dict[str, Any] | None = None) -> None:
        """Complete a user task with the data submitted. A task that declares its outputs
        (`camunda:outputParameter`) keeps the submission local: only the outputs reach the shared data.
        `shared`, when the caller gives it, is what reaches the shared data instead (maps merge into the maps
        already there): a plugin's own output mapping for a task whose diagram declares none."""
        task = self._ready_user_task(task_id)
        spec = task.task_spec
        outputs = spec.human.outputs if isinstance(spec, HumanTaskMixin) else ()
        if shared is not None and not outputs:
            task.data.update(merge_shared(task.data, shared))
        elif outputs:
            local = {**data, "task": {"id": task_id, "element_id": spec.bpmn_id, "completed_by": actor,
                                      "completed_at": at.isoformat() if at is not None else None}}
            task.data.update(merge_outputs(task.data, outputs, local))
        elif getattr(spec, "variable", None):  # SpiffWorkflow's variableName: the submission under that name
            task.data[spec.variable] = dict(data)
        else:
            task.data.update(data)
        self._run(task.run)
        self._advance()

    def reschedule_working_day_timers(self, started: Callable[[str], datetime | None]) -> dict[str, datetime]:
        """The calendar changed: every waiting timer that counts working days is due when the same duration, from
        the same start, ends on the calendar now (`started(task_id)`: the start of a timer armed before starts were
        kept). Returns the timers whose due date moved (task id -> new due); nothing runs."""
        moved = {}
        for task in list(waiting_timer_tasks(self.workflow)):
            before = timer_due(task)
            due = rescheduled(task, started(str(task.id)))
            if due is not None and due != before:
                moved[str(task.id)] = due
        return moved

    @_bounded
    def fire_timers(self) -> None:
        moment = self.workflow.script_engine.now()
        due = {timer.task_id for timer in self.waiting_timers() if timer.due_at <= moment}
        self._run(self.workflow.refresh_timers)
        # what the refresh ran fired, its task completed or — a cycle's repetition — waiting for the next one (even
        # the last, after which the timer waits for nothing); not one that another firing cancelled
        self.fired_timers |= {task_id for task_id in due if not self._cancelled(task_id)}
        self._advance()

    def _cancelled(self, task_id: str) -> bool:
        try:
            task = self.workflow.get_task_from_id(UUID(task_id))
        except TaskNotFoundException:
            return True
        return task.state == TaskState.CANCELLED

    @_bounded
    def deliver_message(self, name: str, payload: Any, correlations: dict | None = None) -> bool:
        """Deliver a message to this case; False when nothing in it waits for that name (or for that correlation).

        Camunda's definition carries the payload under its result variable, SpiffWorkflow's under its message
        variable, as it is; a plain one merges it into the case data (a payload that is not an object is kept
        under `payload`)."""
        definition = self._waiting_definition(name, MessageEventDefinition)
        if definition is None:
            return False
        if hasattr(definition, "result_var"):
            body: Any = {"payload": payload, "result_var": definition.result_var}
        elif hasattr(definition, "message_var"):
            body = payload
        else:
            body = _as_data(payload)
        event = BpmnEvent(type(definition)(name), payload=body, correlations=correlations or {})
        caught = []  # an event nothing catches (its correlation differs) must not become this case's own outbox
        self._run(lambda: caught.append(self.workflow.event_manager.catch(event, internal=False)))
        if not caught[0]:
            return False
        self._advance()
        return True

    @_bounded
    def deliver_signal(self, name: str, payload: Any = None) -> bool:
        definition = self._waiting_definition(name, SignalEventDefinition)
        if definition is None:
            return False
        body = payload if hasattr(definition, "variable") else _as_data(payload)  # SpiffWorkflow's: as it is
        event = BpmnEvent(type(definition)(name), payload=body)
        self._run(lambda: self.workflow.catch(event))
        self._advance()
        return True

    def cancel(self) -> None:
        self.workflow.cancel()

    def end_remaining(self) -> None:
        """End the case as it stands: every task still open or waiting is cancelled and the workflow counts as
        completed (as a terminate end event would). For branches the case's own course no longer needs."""
        self.workflow.cancel(self.workflow)
        self.workflow.success = True

    def complete_external(self, task_id: str, variables: dict[str, Any], local: dict[str, Any] | None = None) -> None:
        """A worker completed a service task waiting for it (see external.py)."""
        task = self._waiting_external(task_id)
        self._run(lambda: external.complete(task, variables, local or {}))
        self._advance()

    def modify(self, instructions: list[modification.Instruction]) -> modification.Applied:
        """Move the case's tokens by hand (see modification.py); ModificationRefused, changing nothing, where the
        engine cannot."""
        applied: list[modification.Applied] = []
        self._run(lambda: applied.append(modification.modify(self.workflow, instructions)))
        self._advance()
        return applied[0]

    def move(self, from_element: str, to_element: str, variables: dict[str, Any] | None = None, *,
             task_id: str | None = None) -> modification.Applied:
        """Cancel the active `from_element` (or that one task of it) and start before `to_element`."""
        return self.modify([modification.Instruction("cancel", from_element, task_id),
                            modification.Instruction("startBeforeActivity", to_element, variables=variables or {})])

    def throw_external_error(self, task_id: str, code: str, message: str | None,
                             variables: dict[str, Any]) -> None:
        """A worker's BPMN error: caught by the task's error boundary event, or an enclosing one; raises
        external.UncaughtError, changing nothing, when nothing catches it."""
        task = self._waiting_external(task_id)
        self._run(lambda: external.throw_error(task, code, message, variables))
        self._advance()

    def pending_start_cycle(self) -> dict | None:
        """The state of the start event's cycle while the case waits for its firing (a timer start's case)."""
        for task in self.workflow.get_tasks(state=TaskState.WAITING):
            if isinstance(getattr(task.task_spec, "event_definition", None), ClockedStartCycle):
                value = task._get_internal_data("event_value")
                return dict(value) if isinstance(value, dict) else None
        return None

    # --- what the service reads -------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        state = "completed" if self.workflow.is_completed() else "running"
        snap = Snapshot(state=state, data=self.data(), user_tasks=self.open_user_tasks(),
                        timers=self.waiting_timers(), messages=self.waiting_messages(),
                        external_tasks=external.open_external_tasks(self.workflow))
        if state == "running" and not self._anything_open():
            snap.state = "error"
            element = self._stalled_at()
            snap.error_element = element
            snap.error = f"流程停滞：没有待办任务，也没有等待中的事件 (the case stalled at {element or 'unknown'})"
        return snap

    def data(self) -> dict[str, Any]:
        last = self.workflow.last_task
        if self.workflow.is_completed():
            # an end event merges every branch into the workflow's data; a path that ended without one
            # (an implicit end, a terminate) left its data on the last task
            return {**(last.data if last is not None else {}), **self.workflow.data}
        if last is not None:
            return dict(last.data)
        return dict(self.workflow.task_tree.data)

    def open_user_tasks(self) -> list[OpenUserTask]:
        result = []
        for task in self.workflow.get_tasks(state=TaskState.READY):
            spec = task.task_spec
            if not spec.manual:
                continue
            info = spec.human if isinstance(spec, HumanTaskMixin) else None
            post = info.post(spec.lane) if info is not None else (spec.lane or None)
            element, name = spec.bpmn_id or spec.name, spec.bpmn_name or spec.bpmn_id or spec.name
            if info is None:
                result.append(OpenUserTask(str(task.id), element, name, post, None, task.workflow.spec.name))
                continue
            result.append(OpenUserTask(
                str(task.id), element, name, post, info.form_key, task.workflow.spec.name, info.candidate_users,
                spec.assignee_of(task), info.other_posts, spec.priority_of(task), spec.due_of(task)))
        return result

    def waiting_timers(self) -> list[WaitingTimer]:
        result = []
        for task in self.workflow.get_tasks(state=TaskState.WAITING):
            if not is_timer_task(task):
                continue
            due = timer_due(task)
            if due is None:
                continue
            spec = task.task_spec
            attached = None
            parent = task.parent
            if parent is not None and isinstance(parent.task_spec, BoundaryEventSplit):
                kind = "boundary"
                attached = parent.task_spec.outputs[0].bpmn_id
            elif isinstance(spec, StartEvent):
                kind = "start"
            elif type(spec).__name__ == "EventBasedGateway":
                kind = "gateway"
            else:
                kind = "catch"
            result.append(WaitingTimer(str(task.id), spec.bpmn_id or spec.name,
                                       spec.bpmn_name or spec.bpmn_id or spec.name, due, kind, attached))
        return result

    def waiting_messages(self) -> list[WaitingMessage]:
        result = []
        for task_id, element_id, inner, workflow in self._catching():
            if isinstance(inner, MessageEventDefinition):
                declared = inner.correlation_properties or getattr(inner, "process_correlations", None)
                keys = canonical_correlations(workflow.correlations) if declared else ()
                result.append(WaitingMessage(task_id, element_id, inner.name, "message", keys))
            elif isinstance(inner, SignalEventDefinition):
                result.append(WaitingMessage(task_id, element_id, inner.name, "signal"))
        return result

    def _catching(self):
        """(task id, element, event definition, its workflow) of everything that would catch an event now.

        Waiting tasks, and the start events of the process's message and signal event subprocesses, which
        SpiffWorkflow keeps as triggers of the process rather than as waiting tasks.
        """
        for task in self.workflow.get_tasks(state=TaskState.WAITING):
            for inner in event_definitions(getattr(task.task_spec, "event_definition", None)):
                yield str(task.id), task.task_spec.bpmn_id, inner, task.workflow
        if self.workflow.is_completed():
            return
        for name in getattr(self.workflow.spec.start, "trigger_specs", ()):
            sub_spec = self.workflow.subprocess_specs.get(name)
            for start in getattr(sub_spec, "bpmn_start_events", ()) if sub_spec is not None else ():
                for inner in event_definitions(start.event_definition):
                    yield (str(uuid5(NAMESPACE_URL, f"trigger:{name}:{start.bpmn_id}")), start.bpmn_id, inner,
                           self.workflow)

    def task_data(self, task_id: str) -> dict[str, Any] | None:
        """An open task's own data (a multi-instance item's included), None when the case has no such task."""
        try:
            task = self.workflow.get_task_from_id(UUID(task_id))
        except (ValueError, TypeError, TaskNotFoundException):
            return None
        return dict(task.data) if task is not None else None

    def inline_form(self, task_id: str) -> dict | None:
        """The form a user task declares in the diagram itself (Camunda's generated form), if any."""
        try:
            task = self.workflow.get_task_from_id(UUID(task_id))
        except (ValueError, TypeError, TaskNotFoundException):
            return None
        info = getattr(task.task_spec, "human", None) if task is not None else None
        return info.inline_form if info is not None else None

    # --- internals --------------------------------------------------------------------------------
    def _waiting_definition(self, name: str, kind: type):
        for _, _, inner, _ in self._catching():
            if isinstance(inner, kind) and inner.name == name:
                return inner
        return None

    def _anything_open(self) -> bool:
        """A case that is neither done nor waiting for a person, a worker or an event has stalled."""
        return any(True for _ in self.workflow.get_tasks(state=TaskState.READY | TaskState.WAITING)) or \
            any(external.is_waiting_external(t) for t in self.workflow.get_tasks(state=TaskState.STARTED))

    def _waiting_external(self, task_id: str):
        try:
            task = self.workflow.get_task_from_id(UUID(task_id))
        except (ValueError, TypeError, TaskNotFoundException):
            task = None
        if task is None or not external.is_waiting_external(task):
            raise TaskNotReady(task_id)
        return task

    def _stalled_at(self) -> str | None:
        """The element a stalled case stopped at: the last task it finished."""
        last = self.workflow.last_task
        return getattr(getattr(last, "task_spec", None), "bpmn_id", None) if last is not None else None

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
            if spec.bpmn_id and not external.is_waiting_external(task):  # a worker's step is its completion
                self.steps.append(Step(spec.bpmn_id, spec.bpmn_name or spec.bpmn_id, type(spec).__name__))
            if is_timer_task(task):
                self.fired_timers.add(str(task.id))
        budget = self._budget or Budget(self.engine_limits)
        chunk = [0]

        def will_complete(task) -> None:
            if chunk[0] >= _CHUNK:
                raise _Pause  # before the task runs: it stays ready for the next chunk
            chunk[0] += 1
            budget.step(task)

        steps = {"will_complete_task": will_complete, "did_complete_task": record}
        while True:
            chunk[0] = 0
            paused = self._engine_steps(steps)
            if not paused and self._retire_idle_event_subprocesses():
                paused = self._engine_steps(steps)
            self._collect_events()
            prune_finished_history(self.workflow)
            # a long automatic run goes on from the pruned tree, within the budget: SpiffWorkflow walks the whole
            # tree for every step (and its iterator stops ~1,000 levels down), so a step's cost stays flat
            if not paused and (chunk[0] == 0 or not self._automatic_ready()):
                break
        self._check_width()

    def _engine_steps(self, steps: dict) -> bool:
        """SpiffWorkflow's automatic steps, at most _CHUNK of them; True when it stopped at the chunk's end."""
        try:
            self._run(lambda: self.workflow.do_engine_steps(**steps))
        except _Pause:
            return True
        return False

    def _automatic_ready(self) -> bool:
        return any(not task.task_spec.manual for task in self.workflow.get_tasks(state=TaskState.READY))

    def _check_width(self) -> None:
        """A case holds at most so many open tasks and waits at once (a runaway split or repeating timer)."""
        limit = self.engine_limits.max_branches
        seen: Counter[str | None] = Counter()
        for task in self.workflow.get_tasks(state=TaskState.READY | TaskState.WAITING):
            seen[getattr(task.task_spec, "bpmn_id", None)] += 1
            if seen.total() > limit:  # named by the element with the most of them
                check_branches(seen.total(), self.engine_limits, seen.most_common(1)[0][0])

    def _retire_idle_event_subprocesses(self) -> bool:
        """When a (sub)process has nothing left to do but wait in event subprocesses' start events, it ends.

        BPMN ends a process when its last token is consumed; an event subprocess that never started does not
        hold it open. SpiffWorkflow runs a timer event subprocess as a parallel branch, so its end join would
        wait for the timer; those branches are cancelled here and the join looked at again.
        """
        retired = False
        for workflow in [self.workflow, *self.workflow.subprocesses.values()]:
            idle, busy, joins = [], False, []
            for task in workflow.get_tasks(state=TaskState.READY | TaskState.WAITING | TaskState.STARTED,
                                           skip_subprocesses=True):
                if isinstance(task.task_spec, EventSubprocess) and self._idle(task):
                    idle.append(task)
                elif isinstance(task.task_spec, _EndJoin) and task.state == TaskState.WAITING:
                    joins.append(task)
                else:
                    busy = True
                    break
            if busy or not idle or not joins:
                continue
            for task in idle:
                task.cancel()
            for join in joins:
                join.task_spec._update(join)
            retired = True
        return retired

    def _idle(self, task) -> bool:
        subprocess = self.workflow.subprocesses.get(task.id)
        if subprocess is None:
            return False
        open_tasks = subprocess.get_tasks(state=TaskState.READY | TaskState.WAITING | TaskState.STARTED)
        return all(isinstance(t.task_spec, StartEvent) and t.state == TaskState.WAITING for t in open_tasks)

    def _collect_events(self) -> None:
        for event in self.workflow.get_events():
            definition = event.event_definition
            kind = ("message" if isinstance(definition, MessageEventDefinition)
                    else "signal" if isinstance(definition, SignalEventDefinition) else None)
            if kind is None:
                continue  # an uncaught error or escalation ends where BPMN says it ends
            self.outbox.append(OutgoingEvent(kind, definition.name, event.payload, dict(event.correlations or {})))

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
        except (TypeError, ValueError, KeyError, IndexError, AttributeError) as exc:
            # SpiffWorkflow's own code on data it did not expect (a multi-instance input that is not a list...):
            # the step is refused, naming the task it stopped at, instead of failing the server
            log.warning("engine step failed: %s", exc, exc_info=True)
            raise CaseFailed(f"流程数据不符合流程定义的要求：{type(exc).__name__}: {exc}", _failing_element(exc)) from None
