"""Service tasks done by someone outside the engine: Camunda's external tasks (`camunda:type="external"`).

A service task with an external implementation starts and then waits (SpiffWorkflow's STARTED state: "running
elsewhere") until a worker completes it, reports a BPMN error, or the case moves on without it (a boundary event,
a cancel). SpiffWorkflow has no such task; ours is a ServiceTask registered on our parser (`parser.py`), so it is
stored and restored with the case like any other task.

Which implementations wait for a worker:
- `camunda:type="external"` with `camunda:topic` — Camunda's external task;
- `camunda:class`, `camunda:delegateExpression`, a `camunda:connector`, SpiffWorkflow's `serviceTaskOperator`:
  code that runs inside Camunda or spiff-arena, never here; the task waits on a topic naming that code
  (`class:org.example.Issue`, `connector:http-connector`, `spiff:http/GetRequest`...), so a worker can do it
  and nothing is skipped.
A `camunda:expression` is evaluated in the sandbox (Camunda's `${...}`, translated like conditions), its value
stored in `camunda:resultVariable` when one is named. A service task with no implementation at all is refused
at deploy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.defaults import ServiceTask
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import ErrorEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.util.task import TaskState

from .specs import OutputParameter, merge_outputs, parameter_values

CAMUNDA = "{http://camunda.org/schema/1.0/bpmn}"
SPIFF = "{http://spiffworkflow.org/bpmn/schema/1.0/core}"


@dataclass(frozen=True)
class ExternalInfo:
    """How a worker finds the task and what it hands back."""

    topic: str
    priority: int = 0
    kind: str = "external"  # external | class | delegateExpression | connector | spiff
    outputs: tuple[OutputParameter, ...] = ()  # camunda:outputParameter: from the worker's local variables
    properties: dict[str, str] | None = None  # camunda:properties, sent to workers as extensionProperties
    inputs: tuple[OutputParameter, ...] = ()  # camunda:inputParameter: the task's local variables, from case data

    def local_variables(self, data: dict[str, Any]) -> dict[str, Any]:
        """The task's local variables (its input parameters) over the case's data: `${name}` / `${a.b}` read
        the data, other text is literal, maps and lists are built from such values."""
        return parameter_values(self.inputs, data)


class ExternalServiceTask(ServiceTask):
    """Starts and waits (STARTED) for a worker; see the module's docstring."""

    def __init__(self, wf_spec, bpmn_id, external: ExternalInfo | None = None, **kwargs) -> None:
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.external = external or ExternalInfo(topic=bpmn_id)

    def _run_hook(self, my_task):
        return None  # STARTED: done elsewhere; completed through Case.complete_external


class ExpressionServiceTask(ServiceTask):
    """`camunda:expression`: evaluated in the sandbox, the value stored in `camunda:resultVariable` if named."""

    def __init__(self, wf_spec, bpmn_id, expression: str = "", result_variable: str | None = None,
                 **kwargs) -> None:
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.expression = expression
        self.result_variable = result_variable

    def _run_hook(self, my_task):
        value = my_task.workflow.script_engine.evaluate(my_task, self.expression)
        if self.result_variable:
            my_task.data[self.result_variable] = value
        return True


@dataclass(frozen=True)
class OpenExternalTask:
    """A service task waiting for a worker, as the service keeps it in a row."""

    id: str
    element_id: str
    name: str
    topic: str
    priority: int = 0
    process_key: str | None = None  # the (sub)process it belongs to
    local: dict[str, Any] | None = None  # a multi-instance's item: what this one instance is for


def is_waiting_external(task) -> bool:
    return isinstance(task.task_spec, ExternalServiceTask) and task.state == TaskState.STARTED


def open_external_tasks(workflow) -> list[OpenExternalTask]:
    result = []
    for task in workflow.get_tasks(state=TaskState.STARTED):
        spec = task.task_spec
        if isinstance(spec, ExternalServiceTask):
            result.append(OpenExternalTask(str(task.id), spec.bpmn_id or spec.name,
                                           spec.bpmn_name or spec.bpmn_id or spec.name, spec.external.topic,
                                           spec.external.priority, task.workflow.spec.name, _instance_item(task)))
    return result


def _instance_item(task) -> dict[str, Any] | None:
    """The item an instance of a multi-instance service task works on (its element variable), which lives in
    the instance's own data, not the case's."""
    parent = task.parent
    if parent is None or not isinstance(parent.task_spec, LoopTask):
        return None
    names = [ref.bpmn_id for ref in (getattr(parent.task_spec, "input_item", None),
                                     getattr(parent.task_spec, "output_item", None)) if ref is not None]
    return {name: task.data[name] for name in names if name in task.data} or None


def complete(task, variables: dict[str, Any], local: dict[str, Any]) -> None:
    """A worker's result: its variables reach the case's data; a task declaring outputs
    (`camunda:outputParameter`) maps them from the worker's variables and local variables instead."""
    info = task.task_spec.external
    task.data.update(variables)
    if info.outputs:
        inputs = info.local_variables(task.data)
        task.data.update(merge_outputs(task.data, info.outputs, {**variables, **inputs, **local}))
    task.complete()


class UncaughtError(Exception):
    """A BPMN error that no boundary event, enclosing subprocess or event subprocess catches."""


def throw_error(task, code: str, message: str | None, variables: dict[str, Any]) -> None:
    """A worker's BPMN error, thrown from the task: its own error boundary events catch it first, then those of
    the (sub)processes around it, outwards (as SpiffWorkflow throws an error end event); nothing changes when
    nothing catches it (UncaughtError)."""
    payload = {**variables}
    event = BpmnEvent(ErrorEventDefinition(code, code=code), payload=payload, target=task.workflow)
    catchers = _error_catchers(task, event)
    if not catchers:
        raise UncaughtError(code)
    task.data.update(variables)
    for catcher in catchers:
        catcher.task_spec.catch(catcher, event)
        catcher.task_spec._update(catcher)


def _error_catchers(task, event) -> list:
    parent = task.parent
    if parent is not None and isinstance(parent.task_spec, BoundaryEventSplit):
        own = [t for t in parent.children if t is not task and t.state == TaskState.WAITING
               and t.task_spec.catches(t, event)]
        if own:
            return own[:1]
    waiting = list(task.workflow.top_workflow.event_manager.tasks.values())
    workflow = task.workflow
    while workflow is not None:  # the enclosing (sub)processes, innermost first
        found = [t for t in waiting if t.workflow is workflow and t.task_spec.event_definition.catches(t, event)
                 and not _is_boundary_of_other(t, task)]
        if found:
            return found[:1]
        workflow = workflow.parent_workflow
    return [t for t in waiting if t.task_spec.catches(t, event) and not _is_boundary_of_other(t, task)][:1]


def _is_boundary_of_other(candidate, task) -> bool:
    """An error boundary event of another activity beside this one: not this task's to trigger."""
    parent = candidate.parent
    if parent is None or not isinstance(parent.task_spec, BoundaryEventSplit):
        return False
    return not any(child is task or _holds(child, task) for child in parent.children)


def _holds(activity, task) -> bool:
    """Whether `task` runs inside `activity` (a subprocess or call activity and its subprocesses)."""
    workflow = task.workflow
    while workflow is not None:
        if workflow.parent_task_id == activity.id:
            return True
        workflow = workflow.parent_workflow
    return False


def implementation(node) -> tuple[str, dict] | None:
    """What a serviceTask element says runs it: (kind, details), None when nothing does."""
    kind = (node.get(f"{CAMUNDA}type") or "").strip()
    if kind:
        return "type", {"type": kind, "topic": (node.get(f"{CAMUNDA}topic") or "").strip()}
    for attribute in ("class", "delegateExpression", "expression"):
        value = (node.get(f"{CAMUNDA}{attribute}") or "").strip()
        if value:
            return attribute, {"value": value, "result": (node.get(f"{CAMUNDA}resultVariable") or "").strip()}
    connector = node.find(f"./{{http://www.omg.org/spec/BPMN/20100524/MODEL}}extensionElements/{CAMUNDA}connector")
    if connector is not None:
        found = connector.find(f"{CAMUNDA}connectorId")
        name = (found.text or "").strip() if found is not None and found.text else ""
        return "connector", {"value": name or "connector"}
    operator = node.find(f".//{SPIFF}serviceTaskOperator")
    if operator is not None:
        return "spiff", {"value": (operator.get("id") or "").strip() or "operator"}
    return None
