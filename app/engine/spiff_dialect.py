"""SpiffWorkflow's own dialect (what spiff-arena's analysts draw): SpiffWorkflow's Spiff parser, extended.

A file whose extensions are SpiffWorkflow's (namespace http://spiffworkflow.org/bpmn/schema/1.0/core) and none of
Camunda's is parsed by `TongbanSpiffParser`: SpiffWorkflow's `SpiffBpmnParser` with our task and event parsers
registered on its `OVERRIDE_PARSER_CLASSES`, so that what the dialect means is SpiffWorkflow's own:
- multi-instance over a data input (`loopDataInputRef` / `inputDataItem`, `loopDataOutputRef` / `outputDataItem`);
- `spiffworkflow:preScript` / `postScript` on any task (they run in the case's script engine: the sandbox);
- `spiffworkflow:properties` (kept as the element's properties, as `camunda:properties` are),
  `spiffworkflow:instructionsForEndUser` (on the task), the JSON-schema form (`formJsonSchemaFilename`);
- messages with `messagePayload` / `messageVariable` and correlation, incl. `processVariableCorrelation`;
- signals, errors and escalations with payloads; business-rule tasks (`calledDecisionId`).
What Tongban adds to the Camunda dialect it adds here too: timers as the tools write them, posts from lanes,
call activities resolved when a case reaches them, decisions that may be deployed later, event subprocesses
started by errors and escalations.
"""

from __future__ import annotations

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import full_tag
from SpiffWorkflow.bpmn.parser.event_parsers import StartEventParser
from SpiffWorkflow.bpmn.parser.util import first
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.defaults import (
    BoundaryEvent,
    EndEvent,
    IntermediateCatchEvent,
    IntermediateThrowEvent,
    StartEvent,
)
from SpiffWorkflow.spiff.parser.event_parsers import (
    SpiffBoundaryEventParser,
    SpiffEndEventParser,
    SpiffEventDefinitionParser,
    SpiffIntermediateCatchEventParser,
    SpiffIntermediateThrowEventParser,
    SpiffReceiveTaskParser,
    SpiffSendTaskParser,
)
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.parser.task_spec import SpiffTaskParser
from SpiffWorkflow.spiff.specs import event_definitions as spiff_events
from SpiffWorkflow.spiff.specs.defaults import CallActivity as SpiffCallActivitySpec
from SpiffWorkflow.spiff.specs.defaults import ManualTask as SpiffManualTask
from SpiffWorkflow.spiff.specs.defaults import ReceiveTask, SendTask
from SpiffWorkflow.spiff.specs.defaults import UserTask as SpiffUserTask
from SpiffWorkflow.spiff.specs.spiff_task import SpiffBpmnTask

from .links import LinkEvents
from .parser import NAMESPACES, SPIFF_NS, EventSubprocessStartParsing, TimerParsing
from .specs import DecisionTask, HumanTaskInfo, HumanTaskMixin, ResolvedCallActivity

CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
_PROCESS_LEVEL = {"definitions", "process", "collaboration", "participant"}


def is_spiff_dialect(root: etree._Element) -> bool:
    """SpiffWorkflow's extensions and no Camunda ones on the flow (a `camunda:versionTag` on a process is fine)."""
    spiff = camunda = False
    for node in root.iter():
        if not isinstance(node.tag, str):
            continue
        qname = etree.QName(node)
        namespaces = {qname.namespace} | {etree.QName(a).namespace for a in node.attrib if a.startswith("{")}
        if SPIFF_NS in namespaces:
            spiff = True
        if CAMUNDA_NS in namespaces and qname.localname not in _PROCESS_LEVEL:
            camunda = True
    return spiff and not camunda


# -- event definitions under names of their own: a case's stored state knows classes by name, and SpiffWorkflow's
# -- Spiff definitions share theirs with the plain ones ---------------------------------------------------------
class SpiffMessageEventDefinition(spiff_events.MessageEventDefinition):
    """SpiffWorkflow's message: a payload expression, a variable for what arrives, process-variable correlation."""


class SpiffSignalEventDefinition(spiff_events.SignalEventDefinition):
    pass


class SpiffErrorEventDefinition(spiff_events.ErrorEventDefinition):
    pass


class SpiffEscalationEventDefinition(spiff_events.EscalationEventDefinition):
    pass


class SpiffEventParsing(TimerParsing, SpiffEventDefinitionParser):
    def parse_message_event(self, message_event):
        d = super().parse_message_event(message_event)
        return SpiffMessageEventDefinition(d.name, d.correlation_properties, d.expression, d.message_var,
                                           d.process_correlations, description=d.description)

    def parse_signal_event(self, signal_event):
        d = super().parse_signal_event(signal_event)
        return SpiffSignalEventDefinition(d.name, expression=d.expression, variable=d.variable,
                                          description=d.description)

    def parse_error_event(self, error_event):
        d = super().parse_error_event(error_event)
        return SpiffErrorEventDefinition(d.name, expression=d.expression, variable=d.variable, code=d.code,
                                         description=d.description)

    def parse_escalation_event(self, escalation_event):
        d = super().parse_escalation_event(escalation_event)
        return SpiffEscalationEventDefinition(d.name, expression=d.expression, variable=d.variable, code=d.code,
                                              description=d.description)


class SpiffStartParser(EventSubprocessStartParsing, SpiffEventParsing, StartEventParser):
    pass


class SpiffEndParser(SpiffEventParsing, SpiffEndEventParser):
    pass


class SpiffCatchParser(LinkEvents, SpiffEventParsing, SpiffIntermediateCatchEventParser):
    def create_task(self):
        return self.link_task() or super().create_task()


class SpiffThrowParser(LinkEvents, SpiffEventParsing, SpiffIntermediateThrowEventParser):
    def create_task(self):
        return self.link_task() or super().create_task()


class SpiffBoundaryParser(SpiffEventParsing, SpiffBoundaryEventParser):
    pass


class SpiffSendParser(SpiffEventParsing, SpiffSendTaskParser):
    pass


class SpiffReceiveParser(SpiffEventParsing, SpiffReceiveTaskParser):
    pass


# -- tasks -------------------------------------------------------------------------------------------------------
class SpiffHumanUserTask(HumanTaskMixin, SpiffUserTask):
    def __init__(self, wf_spec, bpmn_id, human: HumanTaskInfo | None = None, **kwargs) -> None:
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.human = human or HumanTaskInfo()


class SpiffHumanManualTask(HumanTaskMixin, SpiffManualTask):
    def __init__(self, wf_spec, bpmn_id, human: HumanTaskInfo | None = None, **kwargs) -> None:
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.human = human or HumanTaskInfo()


class SpiffDecisionTask(DecisionTask, SpiffBpmnTask):
    """A business-rule task with pre/post scripts, its decision possibly deployed later (`DecisionTask`)."""


class SpiffCallActivity(ResolvedCallActivity, SpiffBpmnTask):
    """A call activity with pre/post scripts, its process possibly in another file (`ResolvedCallActivity`)."""


class SpiffHumanTaskParsing(SpiffTaskParser):
    """Who a task is for (its lane: a post) and what it shows, as spiff-arena's analysts declare it."""

    def human_info(self) -> HumanTaskInfo:
        extensions = self.parse_extensions()
        properties = extensions.get("properties") or {}
        documentation = first(self.xpath("./bpmn:documentation"))
        schema_file = (properties.get("formJsonSchemaFilename") or "").strip()
        return HumanTaskInfo(
            form_key=spiff_form_key(schema_file) if schema_file else None,
            form_kind="json_schema" if schema_file else None, form_ref=schema_file or None,
            documentation=documentation.text if documentation is not None else None,
            properties={k: v for k, v in properties.items() if isinstance(v, str)},
            instructions=(extensions.get("instructionsForEndUser") or "").strip() or None,
        )

    def scripts(self) -> dict:
        extensions = self.parse_extensions()
        return {"prescript": extensions.get("preScript"), "postscript": extensions.get("postScript")}


def spiff_form_key(filename: str) -> str:
    """The form key of a JSON-schema file named by `formJsonSchemaFilename` (`x-schema.json` → `x`)."""
    name = filename.rsplit("/", 1)[-1]
    return name.removesuffix(".json").removesuffix("-schema") or name


class SpiffUserTaskParser(SpiffHumanTaskParsing):
    def create_task(self):
        variable = self.parse_extensions().get("variableName")
        return self.spec_class(self.spec, self.bpmn_id, human=self.human_info(), variable=variable,
                               **self.scripts(), **self.bpmn_attributes)


class SpiffManualTaskParser(SpiffHumanTaskParsing):
    def create_task(self):
        return self.spec_class(self.spec, self.bpmn_id, human=self.human_info(), **self.scripts(),
                               **self.bpmn_attributes)


class SpiffDecisionTaskParser(SpiffTaskParser):
    def create_task(self):
        ref = self.get_decision_ref(self.node)
        known = ref in self.process_parser.parser.dmn_parsers
        engine = self.process_parser.parser.get_engine(ref, self.node) if known else None
        extensions = self.parse_extensions()
        return SpiffDecisionTask(self.spec, self.bpmn_id, dmnEngine=engine, decision_ref=ref,
                                 prescript=extensions.get("preScript"), postscript=extensions.get("postScript"),
                                 **self.bpmn_attributes)

    @staticmethod
    def get_decision_ref(node):
        called = node.find(f"./{{{NAMESPACES['bpmn']}}}extensionElements/{{{SPIFF_NS}}}calledDecisionId")
        ref = (called.text or "").strip() if called is not None else ""
        if not ref:
            raise ValidationException("业务规则任务未指定决策 (spiffworkflow:calledDecisionId)", node=node)
        return ref


class SpiffCallParser(SpiffTaskParser):
    """A call activity of this file, or of another one found by key when a case reaches it (latest version)."""

    def create_task(self):
        called = (self.node.get("calledElement") or "").strip()
        if not called:
            self.raise_validation_exception("调用活动未指定被调用流程 (callActivity without calledElement)")
        extensions = self.parse_extensions()
        return SpiffCallActivity(self.spec, self.bpmn_id, called, called, prescript=extensions.get("preScript"),
                                 postscript=extensions.get("postScript"), **self.bpmn_attributes)


class RefusedServiceTaskParser(SpiffTaskParser):
    def create_task(self):
        self.raise_validation_exception(
            "不支持 SpiffWorkflow 服务任务 (spiffworkflow:serviceTaskOperator)：服务调用由外部系统通过外部任务完成")


class TongbanSpiffParser(SpiffBpmnParser):
    """SpiffWorkflow's Spiff parser with our task and event parsers registered."""

    OVERRIDE_PARSER_CLASSES = {
        **SpiffBpmnParser.OVERRIDE_PARSER_CLASSES,
        full_tag("userTask"): (SpiffUserTaskParser, SpiffHumanUserTask),
        full_tag("manualTask"): (SpiffManualTaskParser, SpiffHumanManualTask),
        full_tag("businessRuleTask"): (SpiffDecisionTaskParser, SpiffDecisionTask),
        full_tag("callActivity"): (SpiffCallParser, SpiffCallActivitySpec),
        full_tag("serviceTask"): (RefusedServiceTaskParser, SpiffCallActivitySpec),
        full_tag("startEvent"): (SpiffStartParser, StartEvent),
        full_tag("endEvent"): (SpiffEndParser, EndEvent),
        full_tag("intermediateCatchEvent"): (SpiffCatchParser, IntermediateCatchEvent),
        full_tag("intermediateThrowEvent"): (SpiffThrowParser, IntermediateThrowEvent),
        full_tag("boundaryEvent"): (SpiffBoundaryParser, BoundaryEvent),
        full_tag("sendTask"): (SpiffSendParser, SendTask),
        full_tag("receiveTask"): (SpiffReceiveParser, ReceiveTask),
    }

    def __init__(self, validator=None) -> None:
        super().__init__(namespaces=NAMESPACES, validator=validator)

    def get_subprocess_specs(self, name, specs=None, require_call_activity_specs=False):
        """The called processes found in this upload; any other is resolved when a case calls it."""
        found = super().get_subprocess_specs(name, specs, require_call_activity_specs=False)
        return found if specs is not None else {key: spec for key, spec in found.items() if spec is not None}
