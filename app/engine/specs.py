"""Task specs of ours: SpiffWorkflow's, with what a modeler declares on the element kept on the spec.

The parser (`parser.py`) builds these once per deployed version; the runtime reads them from the spec of each
task, so a user task inside a subprocess or a called process carries its own post and form.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.specs.defaults import CallActivity, ManualTask
from SpiffWorkflow.camunda.specs.user_task import UserTask as CamundaUserTask


@dataclass(frozen=True)
class HumanTaskInfo:
    """What a person needs to know about a user or manual task, as declared in the diagram."""

    candidate_groups: tuple[str, ...] = ()
    candidate_users: tuple[str, ...] = ()
    assignee: str | None = None
    form_key: str | None = None
    due_date: str | None = None
    documentation: str | None = None
    properties: dict[str, str] = field(default_factory=dict)

    def post(self, lane: str | None) -> str | None:
        """The post a task waits at: its first candidate group, else its lane."""
        return self.candidate_groups[0] if self.candidate_groups else (lane or None)


class HumanTaskMixin:
    human: HumanTaskInfo = HumanTaskInfo()


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


class ResolvedCallActivity(CallActivity):
    """A call activity whose process is found when the case reaches it (by key, with Camunda's binding).

    Processes of the same file are known at parse time; any other is resolved through the workflow's
    resolver (see `case.TongbanWorkflow.resolve_call`), which pins the version it found for the case.
    """

    def __init__(self, wf_spec, bpmn_id, subworkflow_spec, binding: str = "latest", version: int | None = None,
                 inputs: tuple[VariableMapping, ...] = (), outputs: tuple[VariableMapping, ...] = (),
                 **kwargs) -> None:
        super().__init__(wf_spec, bpmn_id, subworkflow_spec, **kwargs)
        self.binding = binding
        self.version = version
        self.inputs = inputs
        self.outputs = outputs

    def start_workflow(self, my_task):
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
        if not self.inputs:
            return super().copy_data(my_task, subworkflow)
        start = subworkflow.get_next_task(subworkflow.task_tree, skip_subprocesses=True, spec_name="Start")
        start.set_data(**_mapped(my_task, self.inputs, my_task.data))

    def update_data(self, my_task, subworkflow):
        if not self.outputs:
            return super().update_data(my_task, subworkflow)
        source = subworkflow.last_task.data if subworkflow.last_task is not None else subworkflow.data
        my_task.data.update(_mapped(my_task, self.outputs, source))


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
