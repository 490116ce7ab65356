"""Case state (de)serialization without the process spec.

SpiffWorkflow's serializer stores the whole spec with every case; a spec is the same for every case of a
version, so we keep it once (compiled and cached per version) and store only the task tree and data.
"""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG

STATE_FORMAT = "tongban-1"


class SpeclessWorkflowConverter(BpmnWorkflowConverter):
    """Leaves the spec out of the dict; takes it back from the caller on restore."""

    def to_dict(self, workflow):
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

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
    config[BpmnWorkflow] = SpeclessWorkflowConverter
    return BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(config))


_SERIALIZER = _make_serializer()


def dump_state(workflow: BpmnWorkflow) -> str:
    registry = _SERIALIZER.registry
    registry._encoder_mode = True
    try:
        dct: dict[str, Any] = _SERIALIZER.to_dict(workflow)
    finally:
        registry._encoder_mode = False
    dct["format"] = STATE_FORMAT
    return json.dumps(dct, cls=_SERIALIZER._encoder_cls, ensure_ascii=False, separators=(",", ":"))


def load_state(text: str, spec, subprocess_specs) -> BpmnWorkflow:
    dct = json.loads(text, cls=_SERIALIZER.json_decoder_cls)
    dct.pop("format", None)
    return _SERIALIZER.from_dict(dct, spec=spec, subprocess_specs=subprocess_specs)
