"""Task specs of ours: SpiffWorkflow's, with what a modeler declares on the element kept on the spec.

The parser (`parser.py`) builds these once per deployed version; the runtime reads them from the spec of each
task, so a user task inside a subprocess or a called process carries its own post and form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.specs.defaults import CallActivity, ManualTask, StartEvent
from SpiffWorkflow.bpmn.specs.defaults import ParallelMultiInstanceTask as BpmnParallelMI
from SpiffWorkflow.bpmn.specs.defaults import SequentialMultiInstanceTask as BpmnSequentialMI
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.bpmn_spec_mixin import BpmnSpecMixin
from SpiffWorkflow.camunda.specs.business_rule_task import BusinessRuleTask
from SpiffWorkflow.camunda.specs.multiinstance_task import ParallelMultiInstanceTask as CamundaParallelMI
from SpiffWorkflow.camunda.specs.multiinstance_task import SequentialMultiInstanceTask as CamundaSequentialMI
from SpiffWorkflow.camunda.specs.user_task import UserTask as CamundaUserTask
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.deep_merge import DeepMerge
from SpiffWorkflow.util.task import TaskState

from .budget import LimitExceeded, check_instances, limits_of
from .errors import CaseFailed
from .moments import as_utc, in_range


def element_properties(extensions: dict | None) -> dict[str, str]:
    """An element's declared properties: Camunda's `camunda:properties` are its spec's extensions themselves;
    SpiffWorkflow's keep them under `properties`, beside its scripts and instructions."""
    extensions = extensions or {}
    found = extensions.get("properties") if isinstance(extensions.get("properties"), dict) else extensions
    return {str(k): v for k, v in found.items() if isinstance(v, str)}


@dataclass(frozen=True)
class OutputParameter:
    """One `camunda:outputParameter`: a shared variable the task writes, and its value.

    `value` is a tree of what Camunda allows inside the parameter: a text (`${name}` or `${name.key}`: a
    local variable — the submitted data, and `task` with `id`, `element_id`, `completed_by`, `completed_at` —;
    empty: the local variable of the parameter's own name), a `camunda:map` (a dict of such values) or a
    `camunda:list` (a tuple of them).
    """

    name: str
    value: Any = None  # None | str | dict[str, value] | tuple[value, ...]


@dataclass(frozen=True)
class Expression:
    """A value a diagram gives as an expression (`${...}`, in its Python form), worked out in the sandbox over the
    task's data when the task opens."""

    python: str


@dataclass(frozen=True)
class HumanTaskInfo:
    """What a person needs to know about a user or manual task, as declared in the diagram."""

    candidate_groups: tuple[str, ...] = ()
    candidate_users: tuple[str, ...] = ()
    assignee: str | Expression | None = None  # camunda:assignee: the user the task is given to when it opens
    form_key: str | None = None
    form_kind: str | None = None  # json_schema | form_js | embedded (an HTML form the server neither shows nor checks)
    form_binding: str = "latest"  # which version of the form: latest | deployment | version (camunda:formRefBinding)
    form_version: int | None = None  # with binding `version`
    form_ref: str | None = None  # what the diagram wrote (camunda:formKey or formRef), for people to read
    due_date: datetime | Expression | None = None  # camunda:dueDate (UTC; a literal without offset: China time)
    documentation: str | None = None
    properties: dict[str, str] = field(default_factory=dict)
    inline_form: dict | None = None  # a JSON Schema built from Camunda's generated form (camunda:formData)
    # camunda:inputOutput/camunda:outputParameter: what the task hands to the case's shared data; () = everything
    outputs: tuple[OutputParameter, ...] = ()
    instructions: str | None = None  # spiffworkflow:instructionsForEndUser (Markdown, `{{ name }}` from the data)
    # camunda:priority: the task's rank in a post's list (higher first); none: Camunda's normal rank
    priority: int | Expression = 50  # PRIORITY_NORMAL

    def post(self, lane: str | None) -> str | None:
        """The post a task waits at: its first candidate group, else its lane."""
        return self.candidate_groups[0] if self.candidate_groups else (lane or None)

    @property
    def other_posts(self) -> tuple[str, ...]:
        """The further candidate groups, where the task may be worked as well (literal names only)."""
        first = self.candidate_groups[:1]
        return tuple(dict.fromkeys(g for g in self.candidate_groups[1:] if g not in first and "{" not in g))


PRIORITY_NORMAL = 50  # Camunda's rank of a user task whose diagram sets none
PRIORITY_BOUND = 2**31 - 1  # a rank is stored as a 32-bit integer
END_OF_DAY = time(23, 59, 59)  # a due date without a time


class HumanTaskMixin:
    human: HumanTaskInfo = HumanTaskInfo()

    def _on_ready_hook(self, my_task):
        super()._on_ready_hook(my_task)
        # what the diagram gives as an expression is worked out once, over the data the task opens with
        found = {name: kept(my_task, my_task.workflow.script_engine.evaluate(my_task, given.python))
                 for name, kept in _WORKED_OUT.items()
                 if isinstance(given := getattr(self.human, name), Expression)}
        if found:
            my_task._set_internal_data(tongban_human=found)

    def _worked_out(self, my_task, name: str) -> Any:
        given = getattr(self.human, name)
        return (my_task._get_internal_data("tongban_human") or {}).get(name) if isinstance(given, Expression) \
            else given

    def assignee_of(self, my_task) -> str | None:
        """Whom the diagram gives the open task to (camunda:assignee), if anyone."""
        return self._worked_out(my_task, "assignee")

    def due_of(self, my_task) -> datetime | None:
        """When the diagram says the open task is due (camunda:dueDate), if it says."""
        due = self._worked_out(my_task, "due_date")
        return datetime.fromisoformat(due) if isinstance(due, str) else due

    def priority_of(self, my_task) -> int:
        """The open task's rank in its post's list (camunda:priority)."""
        rank = self._worked_out(my_task, "priority")
        return rank if isinstance(rank, int) else PRIORITY_NORMAL


def _refuse(my_task, attribute: str, expected: str, value: Any) -> WorkflowTaskException:
    return WorkflowTaskException(f"任务 {my_task.task_spec.bpmn_id} 的 camunda:{attribute} 须为{expected}，表达式得到的是 "
                                 f"{value!r:.80} (camunda:{attribute} must evaluate to {expected})", task=my_task)


def _nothing(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _assignee(my_task, value: Any) -> str | None:
    if _nothing(value):
        return None  # as in Camunda: no one, the task waits at its post
    if not isinstance(value, str) or len(value.strip()) > 64:
        raise _refuse(my_task, "assignee", "用户名（最长 64 个字符）", value)
    return value.strip()


def _due(my_task, value: Any) -> str | None:
    """The due moment as ISO text (kept in the task's internal data)."""
    if _nothing(value):
        return None
    found = due_moment(value)
    if found is None:
        raise _refuse(my_task, "dueDate", "ISO 8601 日期时间", value)
    return found.isoformat()


def _rank(my_task, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or abs(value) > PRIORITY_BOUND:
        raise _refuse(my_task, "priority", "整数", value)
    return value


# HumanTaskInfo's fields a diagram may give as expressions, and how each value is checked and kept
_WORKED_OUT = {"assignee": _assignee, "due_date": _due, "priority": _rank}


def due_moment(value: Any) -> datetime | None:
    """A due moment from what a diagram or its data gives (camunda:dueDate), in UTC: a date-time (ISO 8601 text or
    a datetime; without offset, China time) or a date alone (the end of that day); None: not a moment."""
    try:
        if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
            value = date.fromisoformat(value.strip())
        if isinstance(value, date) and not isinstance(value, datetime):
            value = datetime.combine(value, END_OF_DAY)
        if not isinstance(value, str | datetime):
            return None
        return in_range(as_utc(value.strip() if isinstance(value, str) else value))
    except (ValueError, OverflowError):
        return None


_LOCAL = re.compile(r"^\s*[$#]\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*\}\s*$")


def _resolve(value: Any, name: str, local: dict[str, Any]) -> Any:
    if value is None:
        return local.get(name)
    if isinstance(value, dict):
        return {key: _resolve(item, key, local) for key, item in value.items()}
    if isinstance(value, tuple):
        return [_resolve(item, name, local) for item in value]
    match = _LOCAL.match(value)
    if match is None:
        return value  # a literal
    found: Any = local
    for part in match.group(1).split("."):
        found = found.get(part) if isinstance(found, dict) else None
    return found


def parameter_values(parameters: tuple[OutputParameter, ...], local: dict[str, Any]) -> dict[str, Any]:
    """Each parameter's value over the variables it may name (`${name}`, `${a.b}`; other text is literal)."""
    return {parameter.name: _resolve(parameter.value, parameter.name, local) for parameter in parameters}


def merge_outputs(shared: dict[str, Any], outputs: tuple[OutputParameter, ...], local: dict[str, Any]) -> dict:
    """What a task with declared outputs writes into the shared data: each output's value from the local
    variables; a map merges into the map already there (two departments' entries both stay)."""
    result: dict[str, Any] = {}
    for output in outputs:
        value = _resolve(output.value, output.name, local)
        if isinstance(value, dict) and isinstance(shared.get(output.name), dict):
            value = _deep_merge(dict(shared[output.name]), value)
        result[output.name] = value
    return result


def merge_shared(shared: dict[str, Any], values: dict[str, Any]) -> dict:
    """`values` as they land in the shared data: a map merges into the map already there."""
    return {name: _deep_merge(dict(shared[name]), value)
            if isinstance(value, dict) and isinstance(shared.get(name), dict) else value
            for name, value in values.items()}


def _deep_merge(into: dict, other: dict) -> dict:
    for key, value in other.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            into[key] = _deep_merge(dict(into[key]), value)
        else:
            into[key] = value
    return into


class UserTask(HumanTaskMixin, CamundaUserTask):
    def __init__(self, wf_spec, bpmn_id, form, human: HumanTaskInfo | None = None, **kwargs) -> None:
        super().__init__(wf_spec, bpmn_id, form, **kwargs)
        self.human = human or HumanTaskInfo()


class ManualUserTask(HumanTaskMixin, ManualTask):
    def __init__(self, wf_spec, bpmn_id, human: HumanTaskInfo | None = None, **kwargs) -> None:
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.human = human or HumanTaskInfo()


@dataclass(frozen=True)
class VariableMapping:
    """One `camunda:in` / `camunda:out`: a source variable (or expression) to a target, or all variables."""

    source: str | None = None
    target: str | None = None
    source_expression: str | None = None
    all: bool = False


MAX_CALL_DEPTH = 32  # subprocesses and called processes nested in one case


class ResolvedCallActivity(CallActivity):
    """A call activity whose process is found when the case reaches it (by key, with Camunda's binding).

    Processes of the same file are known at parse time; any other is resolved through the workflow's
    resolver (see `workflow.TongbanWorkflow.resolve_call`), which pins the version it found for the case.
    `spec` (the key of the called spec in the workflow) is the called element for the latest version and
    names the binding otherwise (`key@v3`, `key@deployment`), so two bindings of one process never mix.
    """

    def __init__(self, wf_spec, bpmn_id, subworkflow_spec, called_element: str | None = None,
                 binding: str = "latest", version: int | None = None,
                 variables_in: tuple[VariableMapping, ...] = (), variables_out: tuple[VariableMapping, ...] = (),
                 **kwargs) -> None:
        super().__init__(wf_spec, bpmn_id, subworkflow_spec, **kwargs)
        self.called_element = called_element or subworkflow_spec
        self.binding = binding
        self.version = version
        self.variables_in = variables_in
        self.variables_out = variables_out

    def start_workflow(self, my_task):
        limit = limits_of(my_task).max_call_depth
        if my_task.workflow.depth + 1 > limit:  # a process that calls itself, directly or through others
            raise LimitExceeded(f"调用活动 {self.bpmn_id} 的嵌套调用超过 {limit} 层，已停止（流程互相调用或调用自身）"
                                f" (called processes nested deeper than {limit})",
                                self.bpmn_id, kind="depth", limit=limit)
        top = my_task.workflow.top_workflow
        resolve = getattr(top, "resolve_call", None)
        if resolve is not None and self.spec not in top.subprocess_specs:
            try:
                resolve(self)
            except LookupError as exc:
                my_task.error()
                raise WorkflowTaskException(f"调用的流程 {self.spec} 不存在 ({exc})", task=my_task) from None
        super().start_workflow(my_task)

    def copy_data(self, my_task, subworkflow):
        if not self.variables_in:
            return super().copy_data(my_task, subworkflow)
        start = subworkflow.get_next_task(subworkflow.task_tree, skip_subprocesses=True, spec_name="Start")
        start.set_data(**_mapped(my_task, self.variables_in, my_task.data))

    def update_data(self, my_task, subworkflow):
        if not self.variables_out:
            return super().update_data(my_task, subworkflow)
        source = subworkflow.last_task.data if subworkflow.last_task is not None else subworkflow.data
        my_task.data.update(_mapped(my_task, self.variables_out, source))


def _mapped(my_task, mappings: tuple[VariableMapping, ...], source: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    engine = my_task.workflow.script_engine
    for mapping in mappings:
        if mapping.all:
            result.update(source)
        elif mapping.source_expression is not None:
            result[mapping.target] = engine.evaluate(my_task, mapping.source_expression, external_context=dict(source))
        elif mapping.source in source:
            result[mapping.target or mapping.source] = source[mapping.source]
    return result


class EventSubprocessStart(StartEvent):
    """The start event of an event subprocess; an interrupting one ends the rest of the enclosing process.

    SpiffWorkflow runs every event subprocess as if it were non-interrupting (`isInterrupting` is not read);
    BPMN says an interrupting one cancels the activities of the (sub)process it belongs to when it starts.
    """

    def __init__(self, wf_spec, bpmn_id, event_definition, interrupting: bool = True, **kwargs) -> None:
        super().__init__(wf_spec, bpmn_id, event_definition, **kwargs)
        self.interrupting = interrupting

    def _run_hook(self, my_task):
        result = super()._run_hook(my_task)
        if self.interrupting and my_task.workflow.parent_task_id is not None:
            top = my_task.workflow.top_workflow
            holder = top.get_task_from_id(my_task.workflow.parent_task_id)
            for task in holder.workflow.get_tasks(skip_subprocesses=True):
                frontier = not task.has_state(TaskState.FINISHED_MASK) and (
                    task.parent is None or task.parent.has_state(TaskState.FINISHED_MASK))
                if frontier and task is not holder:
                    task.cancel()
        return result


class InstanceCap:
    """A multi-instance activity makes at most `EngineLimits.max_instances` instances (a collection or a
    cardinality from the case data may be any size)."""

    def create_child(self, my_task, *args, **kwargs):
        made = my_task.internal_data.get("tongban.instances", 0) + 1
        check_instances(made, limits_of(my_task), self.bpmn_id)
        my_task.internal_data["tongban.instances"] = made
        return super().create_child(my_task, *args, **kwargs)


class CappedParallelMI(InstanceCap, CamundaParallelMI):
    pass


class CappedSequentialMI(InstanceCap, CamundaSequentialMI):
    pass


class CappedBpmnParallelMI(InstanceCap, BpmnParallelMI):
    pass


class CappedBpmnSequentialMI(InstanceCap, BpmnSequentialMI):
    pass


CAPPED_MI = {CamundaParallelMI: CappedParallelMI, CamundaSequentialMI: CappedSequentialMI,
             BpmnParallelMI: CappedBpmnParallelMI, BpmnSequentialMI: CappedBpmnSequentialMI}


class MergingMessageEventDefinition(MessageEventDefinition):
    """SpiffWorkflow's plain message (its payload merges into the case data), under a name of its own.

    A caught message can stay in a case's state (an event-based gateway keeps the events it has seen), and the
    state's serializer knows classes by name: Camunda's message definition has the same name as the plain one.
    A correlation property whose retrieval expression cannot be evaluated on a message (the field is not there)
    is left out of the message's correlation, as SpiffWorkflow leaves out a missing key, instead of failing
    the step that throws or catches it.
    """

    def calculate_correlations(self, script_engine, cp, ctx):
        correlations: dict = {}
        for prop in cp:
            try:
                value = script_engine.environment.evaluate(prop.retrieval_expression, ctx)
            except (CaseFailed, SpiffWorkflowException):
                continue
            for key in prop.correlation_keys:
                correlations.setdefault(key, {})[prop.name] = value
        return correlations


class DecisionTask(BusinessRuleTask):
    """A business-rule task whose decision is found when a case reaches it, unless the deploy already had it.

    As with a called process, deploy order does not matter: a decision named by `camunda:decisionRef` (or
    `spiffworkflow:calledDecisionId`) that is not deployed yet is looked up through the workflow's resolver
    (its current version) every time the task runs; still missing, the step is refused naming the decision
    (`decision_not_deployed`), which the service keeps as an incident.
    """

    def __init__(self, wf_spec, bpmn_id, dmnEngine=None, decision_ref: str | None = None, **kwargs) -> None:
        super().__init__(wf_spec, bpmn_id, dmnEngine, **kwargs)
        self.decision_ref = decision_ref

    def _run_hook(self, my_task):
        if self.dmnEngine is not None:
            return super()._run_hook(my_task)
        engine = self._resolve(my_task)  # per run: the spec is shared by every case of its version
        try:
            my_task.data = DeepMerge.merge(my_task.data, engine.result(my_task))
        except (SpiffWorkflowException, CaseFailed):
            raise
        except Exception as exc:
            raise WorkflowTaskException(str(exc), task=my_task) from None
        return BpmnSpecMixin._run_hook(self, my_task)

    def _resolve(self, my_task):
        resolve = getattr(my_task.workflow.top_workflow, "resolve_decision", None)
        try:
            if resolve is None:
                raise LookupError("no resolver")
            return resolve(self.decision_ref)
        except LookupError:
            raise CaseFailed(f"业务规则任务 {self.bpmn_name or self.bpmn_id} 的决策 {self.decision_ref} 尚未部署 "
                             f"(decision not deployed)", self.bpmn_id, code="decision_not_deployed",
                             details={"decision": self.decision_ref}) from None
