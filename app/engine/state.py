"""Case state (de)serialization: SpiffWorkflow's serializer, its version and migrations, without the spec.

- The spec is the same for every case of a version, so it is kept once (compiled and cached per version)
  and only the task tree, its data and the workflow's events are stored.
- Case data is data: task and workflow data are stored as the JSON they are and restored as exactly that,
  whatever their keys (SpiffWorkflow's registry would read any dict with a `typename` key as a stored
  object). Anything else SpiffWorkflow keeps (timer values, caught events) goes through its registry, where
  a plain dict that happens to have a `typename` key is escaped.
- Every stored state carries SpiffWorkflow's serializer version (`serializer_version`) and ours (`format`);
  loading an older state runs SpiffWorkflow's `migrate()` and then our own steps, so an upgrade of either
  never strands a stored case.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.serializer import DEFAULT_CONFIG, BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.event_definition import (
    MessageEventDefinitionConverter,
    TimerConditionalEventDefinitionConverter,
)
from SpiffWorkflow.bpmn.serializer.default.task_spec import BpmnTaskSpecConverter
from SpiffWorkflow.bpmn.serializer.default.task_spec import SubWorkflowConverter as SubWorkflowSpecConverter
from SpiffWorkflow.bpmn.serializer.default.workflow import (
    BpmnSubWorkflowConverter,
    BpmnWorkflowConverter,
    TaskConverter,
    WorkflowConverter,
)
from SpiffWorkflow.bpmn.serializer.helpers.registry import DefaultRegistry
from SpiffWorkflow.bpmn.specs.defaults import StartEvent
from SpiffWorkflow.bpmn.util.subworkflow import BpmnSubWorkflow
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG
from SpiffWorkflow.camunda.serializer.task_spec import UserTaskConverter
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.deep_merge import DeepMerge

from .external import ExpressionServiceTask, ExternalServiceTask
from .specs import (
    CAPPED_MI,
    DecisionTask,
    EventSubprocessStart,
    ManualUserTask,
    MergingMessageEventDefinition,
    ResolvedCallActivity,
    UserTask,
)
from .timers import ClockedCycle, ClockedDuration, ClockedStartCycle, ClockedTimeDate
from .workflow import TongbanWorkflow

STATE_FORMAT = "tongban-2"
_ESCAPED = "tongban.dict"


class StateError(Exception):
    """A state that cannot be written (data that is not JSON) or read back."""


class DataSafeRegistry(DefaultRegistry):
    """SpiffWorkflow's registry, with plain dicts that carry a `typename` key kept as plain dicts."""

    def convert(self, obj, **kwargs):
        if type(obj) is dict and "typename" in obj:
            return {"typename": _ESCAPED, "items": [[k, self.convert(v, **kwargs)] for k, v in obj.items()]}
        return super().convert(obj, **kwargs)

    def restore(self, val, **kwargs):
        if type(val) is dict and val.get("typename") == _ESCAPED:
            return {k: self.restore(v, **kwargs) for k, v in val["items"]}
        return super().restore(val, **kwargs)


class JsonDataTaskConverter(TaskConverter):
    """A task's data is stored as the delta to its parent's, in plain JSON, and never re-interpreted."""

    def to_dict(self, task):
        if task.parent is None:
            data, delta = task.data, {}
        else:
            data = {}
            delta = {"updates": DeepMerge.get_updated_keys(task.parent.data, task.data),
                     "deletions": DeepMerge.get_deleted_keys(task.parent.data, task.data)}
        return {
            "id": str(task.id),
            "parent": str(task._parent) if task.parent is not None else None,
            "children": [str(child) for child in task._children],
            "last_state_change": task.last_state_change,
            "state": task.state,
            "task_spec": task.task_spec.name,
            "triggered": task.triggered,
            "internal_data": self.registry.convert(task.internal_data),
            "data": data,
            "delta": delta,
        }

    def from_dict(self, dct, workflow):
        raw = {**dct, "data": {}, "delta": {}}
        task = super().from_dict(raw, workflow)
        delta = dct.get("delta")
        if delta and task.parent is not None:
            data = DeepMerge.merge({}, task.parent.data)
            data.update(delta.get("updates", {}))
            for key in delta.get("deletions", []):
                data.pop(key, None)
        else:
            data = dct.get("data") or {}
        task.data = data
        return task


def _workflow_dict(converter: WorkflowConverter, workflow) -> dict:
    return {
        "data": {k: v for k, v in workflow.data.items() if not callable(v)},
        "correlations": converter.registry.convert(workflow.correlations),
        "last_task": str(workflow.last_task.id) if workflow.last_task is not None else None,
        "success": workflow.success,
        "completed": workflow.completed,
        "tasks": converter.mapping_to_dict(workflow.tasks),
        "root": str(workflow.task_tree.id),
    }


def _restore_defaults(converter: WorkflowConverter, workflow, dct) -> None:
    workflow.success = dct["success"]
    workflow.completed = dct.get("completed", False)
    workflow.correlations = converter.registry.restore(dct.pop("correlations", {}))
    if isinstance(dct["last_task"], str):
        workflow.last_task = workflow.tasks.get(UUID(dct["last_task"]))
    workflow.data = dct.pop("data", {})


class SubWorkflowConverter(BpmnSubWorkflowConverter):
    def to_dict(self, workflow):
        dct = _workflow_dict(self, workflow)
        dct["parent_task_id"] = str(workflow.parent_task_id)
        dct["spec"] = workflow.spec.name
        return dct

    def set_default_attributes(self, workflow, dct):
        _restore_defaults(self, workflow, dct)


class SpeclessWorkflowConverter(BpmnWorkflowConverter):
    """Leaves the spec out of the dict; takes it back from the caller on restore."""

    def to_dict(self, workflow):
        dct = _workflow_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def set_default_attributes(self, workflow, dct):
        _restore_defaults(self, workflow, dct)

    def from_dict(self, dct, spec=None, subprocess_specs=None):
        workflow = self.target_class(spec, subprocess_specs or {}, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def _make_serializer() -> BpmnWorkflowSerializer:
    config = dict(CAMUNDA_CONFIG)
    config[TongbanWorkflow] = SpeclessWorkflowConverter
    config[BpmnSubWorkflow] = SubWorkflowConverter
    config[Task] = JsonDataTaskConverter
    for timer in (ClockedTimeDate, ClockedDuration, ClockedCycle, ClockedStartCycle):
        config[timer] = TimerConditionalEventDefinitionConverter
    config[UserTask] = UserTaskConverter
    config[ManualUserTask] = BpmnTaskSpecConverter
    config[ExternalServiceTask] = BpmnTaskSpecConverter  # specs are not stored; only old states' migration reads them
    config[ExpressionServiceTask] = BpmnTaskSpecConverter
    config[ResolvedCallActivity] = SubWorkflowSpecConverter
    config[EventSubprocessStart] = CAMUNDA_CONFIG[StartEvent]
    for plain, capped in CAPPED_MI.items():
        config[capped] = config.get(plain) or DEFAULT_CONFIG[plain]
    config[MergingMessageEventDefinition] = MessageEventDefinitionConverter
    config[DecisionTask] = BpmnTaskSpecConverter  # specs are not stored; only an old state's migration reads one
    return BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(config, DataSafeRegistry()))


_SERIALIZER = _make_serializer()
SERIALIZER_VERSION = _SERIALIZER.VERSION


def _not_json(value: Any):
    raise TypeError(f"{type(value).__name__} 不是 JSON 数据")


def dump_state(workflow, extra: dict | None = None) -> str:
    """The case's state as JSON; `extra` holds what the service keeps beside the tree (call bindings)."""
    try:
        dct: dict[str, Any] = _SERIALIZER.to_dict(workflow)
        dct[_SERIALIZER.VERSION_KEY] = _SERIALIZER.VERSION
        dct["format"] = STATE_FORMAT
        if extra:
            dct["tongban"] = extra
        return json.dumps(dct, ensure_ascii=False, separators=(",", ":"), default=_not_json, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise StateError(f"办件数据无法保存，只能包含 JSON 数据 ({exc})") from None


def read_state(text: str, spec=None, subprocess_specs=None) -> dict:
    """The stored dict, migrated to the current versions (SpiffWorkflow's, then ours).

    SpiffWorkflow's migration steps were written for states that carried their spec; an older state gets the
    current spec (as its serializer writes it) for the steps to read, and loses it again afterwards.
    """
    dct = json.loads(text)
    dct.setdefault(_SERIALIZER.VERSION_KEY, _SERIALIZER.VERSION)
    version = dct[_SERIALIZER.VERSION_KEY]
    if version != _SERIALIZER.VERSION:
        if spec is not None:
            dct["spec"] = _SERIALIZER.registry.convert(spec)
            dct["subprocess_specs"] = {name: _SERIALIZER.registry.convert(sub)
                                       for name, sub in (subprocess_specs or {}).items()}
        try:
            _SERIALIZER.migrate(dct)
        except Exception as exc:  # a step that cannot read this state: the case cannot be loaded, say why
            raise StateError(f"办件状态无法从 SpiffWorkflow 序列化版本 {version} 迁移 ({type(exc).__name__}: {exc})") from None
    else:
        dct.pop(_SERIALIZER.VERSION_KEY)
    dct.pop("spec", None)
    dct.pop("subprocess_specs", None)
    fmt = dct.pop("format", "tongban-1")
    while fmt != STATE_FORMAT:
        step = MIGRATIONS.get(fmt)
        if step is None:
            raise StateError(f"未知的办件状态格式 {fmt}")
        fmt = step(dct)
    return dct


def load_state(dct: dict, spec, subprocess_specs) -> TongbanWorkflow:
    return _SERIALIZER.registry.convert_from_dict["TongbanWorkflow"](dct, spec=spec, subprocess_specs=subprocess_specs)


def _from_tongban_1(dct: dict) -> str:
    """tongban-1 kept data through the registry; plain JSON data reads the same, bindings did not exist."""
    dct.setdefault("tongban", {})
    return "tongban-2"


MIGRATIONS: dict[str, Callable[[dict], str]] = {"tongban-1": _from_tongban_1}
