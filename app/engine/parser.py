"""Our BPMN parser: SpiffWorkflow's Camunda parser with our task and event parsers registered.

Everything a diagram declares is read here, once per deployed version, through SpiffWorkflow's own extension
points (`OVERRIDE_PARSER_CLASSES` and the parser methods its task and event parsers call):
- timers become clocked definitions that accept ISO 8601, Quartz cron and `${...}` (`timers.py`);
- messages without a payload expression merge their payload into the case data;
- user and manual tasks carry their candidate groups, assignee, form key, documentation and extension
  properties on the spec (`specs.HumanTaskInfo`);
- Camunda's `${...}` conditions are translated to Python (`expressions.py`);
- call activities keep Camunda's binding and variable mappings and may call a process of another file,
  found when a case reaches them;
- a business-rule task names its decision with `camunda:decisionRef` or SpiffWorkflow's `calledDecisionId`.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime

from SpiffWorkflow.bpmn.parser.BpmnParser import full_tag
from SpiffWorkflow.bpmn.parser.event_parsers import (
    CONDITIONAL_EVENT_XPATH,
    ERROR_EVENT_XPATH,
    ESCALATION_EVENT_XPATH,
    MESSAGE_EVENT_XPATH,
    SIGNAL_EVENT_XPATH,
    TIMER_EVENT_XPATH,
    BoundaryEventParser,
    EndEventParser,
    IntermediateCatchEventParser,
    IntermediateThrowEventParser,
    ReceiveTaskParser,
    SendTaskParser,
    StartEventParser,
)
from SpiffWorkflow.bpmn.parser.task_parsers import ConditionalGatewayParser, SubprocessParser
from SpiffWorkflow.bpmn.parser.TaskParser import TaskParser
from SpiffWorkflow.bpmn.parser.util import first
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.defaults import (
    BoundaryEvent,
    CallActivity,
    EndEvent,
    EventSubprocess,
    ExclusiveGateway,
    InclusiveGateway,
    IntermediateCatchEvent,
    IntermediateThrowEvent,
    NoneTask,
    ReceiveTask,
    ScriptTask,
    SendTask,
    StartEvent,
    TransactionSubprocess,
)
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.camunda.parser import CamundaParser
from SpiffWorkflow.camunda.parser.event_parsers import CamundaEventDefinitionParser
from SpiffWorkflow.camunda.parser.task_spec import (
    CAMUNDA_MODEL_NS,
    BusinessRuleTaskParser,
    CamundaTaskParser,
    ScriptTaskParser,
    UserTaskParser,
)
from SpiffWorkflow.camunda.parser.task_spec import SubWorkflowParser as CamundaSubWorkflowParser
from SpiffWorkflow.dmn.parser.BpmnDmnParser import BpmnDmnParser

from .decisions import TongbanDMNEngine
from .expressions import is_juel, python_expression
from .external import ExpressionServiceTask, ExternalInfo, ExternalServiceTask, implementation
from .links import LinkEvents
from .specs import (
    CAPPED_MI,
    PRIORITY_BOUND,
    PRIORITY_NORMAL,
    DecisionTask,
    EventSubprocessStart,
    Expression,
    HumanTaskInfo,
    ManualUserTask,
    MergingMessageEventDefinition,
    OutputParameter,
    ResolvedCallActivity,
    UserTask,
    VariableMapping,
    due_moment,
)
from .timers import start_cycle, timer_definition

SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NAMESPACES = {**CamundaParser().namespaces, "spiffworkflow": SPIFF_NS}


def element_properties(parser) -> dict[str, str]:
    """The element's own `camunda:properties` (not those of the elements a subprocess contains)."""
    nodes = parser.xpath("./bpmn:extensionElements/camunda:properties/camunda:property")
    return {node.get("name"): node.get("value") or "" for node in nodes if node.get("name")}


class CappedInstances:
    """A multi-instance activity gets the instance cap (`specs.InstanceCap`): SpiffWorkflow's parser builds its
    multi-instance spec, which becomes the capped subclass (it adds a check, no state); its cardinality and
    completion condition may be written as Camunda writes them (`${n}`)."""

    def _add_multiinstance_task(self, loop_characteristics):
        super()._add_multiinstance_task(loop_characteristics)
        capped = CAPPED_MI.get(type(self.task))
        if capped is not None:
            self.task.__class__ = capped
        for attribute in ("cardinality", "condition"):  # Camunda writes `${n}` here too
            value = getattr(self.task, attribute, None)
            if isinstance(value, str):
                setattr(self.task, attribute, python_expression(value.strip()))


class ElementProperties:
    """Every element keeps its declared properties on its spec (`spec.extensions`): the hall reads them there."""

    def parse_extensions(self, node=None):
        return element_properties(self)


class ExpressionParsing:
    """Conditions as Camunda writes them (`${...}`) become Python, once, at parse time."""

    def parse_condition(self, sequence_flow):
        return python_expression(super().parse_condition(sequence_flow))


class TimerParsing:
    """Timers as Camunda Modeler and SpiffWorkflow write them (ISO 8601, Quartz cron, `${...}`, Python)."""

    def parse_timer_event(self, event):
        name = self.node.get("name", self.node.get("id"))
        description = self.get_event_description(event)
        for kind in ("timeDate", "timeDuration", "timeCycle"):
            value = first(self.xpath(f".//bpmn:{kind}"))
            if value is not None:
                return timer_definition(kind, name, python_expression((value.text or "").strip()), description)
        raise ValidationException("定时器缺少时间定义 (timer without timeDate, timeDuration or timeCycle)",
                                  node=self.node, file_name=self.filename)


class EventSubprocessStartParsing:
    """An event subprocess also starts on an error or escalation, which SpiffWorkflow's start parser skips, and
    an interrupting one cancels the rest of its process (`specs.EventSubprocessStart`)."""

    def create_task(self):
        parent = self.node.getparent()
        if parent is not None and parent.get("triggeredByEvent") == "true":
            self.spec_class = EventSubprocessStart
            definition = self.get_event_definition([MESSAGE_EVENT_XPATH, SIGNAL_EVENT_XPATH, TIMER_EVENT_XPATH,
                                                    CONDITIONAL_EVENT_XPATH, ERROR_EVENT_XPATH,
                                                    ESCALATION_EVENT_XPATH])
            task = self._create_task(definition)
            task.interrupting = self.node.get("isInterrupting", "true") == "true"
            self.spec.start.connect(task)
            return task
        task = StartEventParser.create_task(self)
        if parent is not None and parent.tag == full_tag("process"):
            task.event_definition = start_cycle(task.event_definition)  # a cycle starts cases (timers.py)
            # camunda:initiator: the variable that gets the username of whoever starts a case
            task.initiator = (self.node.get(f"{{{CAMUNDA_MODEL_NS}}}initiator") or "").strip() or None
            if task.initiator is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,63}", task.initiator):
                self.raise_validation_exception(f"camunda:initiator 须为变量名，而不是 {task.initiator!r:.60} "
                                                "(camunda:initiator must name a variable)")
        return task


class TongbanEventParsing(ElementProperties, TimerParsing, CamundaEventDefinitionParser):
    def parse_message_event(self, message_event):
        # Camunda's definition (a payload expression and a result variable) only where the diagram uses it;
        # otherwise a message's payload merges into the case data, as a form submission does.
        definition = super().parse_message_event(message_event)
        for prop in definition.correlation_properties:  # a property in no correlationKey is a key of its own
            if not prop.correlation_keys:
                prop.correlation_keys.append(prop.name)
        if getattr(definition, "expression", None) is None and type(definition) is not MessageEventDefinition:
            return MergingMessageEventDefinition(definition.name, definition.correlation_properties,
                                                 description=definition.description)
        definition.expression = python_expression(definition.expression)
        return definition

    def parse_conditional_event(self, event):
        definition = super().parse_conditional_event(event)
        definition.expression = python_expression(definition.expression)
        return definition


class StartParser(EventSubprocessStartParsing, TongbanEventParsing, StartEventParser):
    pass


class EndParser(TongbanEventParsing, EndEventParser):
    def create_task(self):
        return EndEventParser.create_task(self)


class CatchParser(LinkEvents, TongbanEventParsing, IntermediateCatchEventParser):
    def create_task(self):
        return self.link_task() or IntermediateCatchEventParser.create_task(self)


class ThrowParser(LinkEvents, TongbanEventParsing, IntermediateThrowEventParser):
    def create_task(self):
        return self.link_task() or IntermediateThrowEventParser.create_task(self)


class BoundaryParser(TongbanEventParsing, BoundaryEventParser):
    def create_task(self):
        return BoundaryEventParser.create_task(self)


class SendParser(CappedInstances, TongbanEventParsing, SendTaskParser):
    def create_task(self):
        return SendTaskParser.create_task(self)


class ReceiveParser(CappedInstances, TongbanEventParsing, ReceiveTaskParser):
    def create_task(self):
        return ReceiveTaskParser.create_task(self)


class GatewayParser(ElementProperties, ExpressionParsing, ConditionalGatewayParser):
    pass


class HumanTaskParsing:
    """Who a user or manual task is for and which form it takes, exactly as the diagram says."""

    def human_info(self) -> HumanTaskInfo:
        camunda = f"{{{CAMUNDA_MODEL_NS}}}"
        documentation = first(self.xpath("./bpmn:documentation"))
        return HumanTaskInfo(
            candidate_groups=_split(self.node.get(f"{camunda}candidateGroups")),
            candidate_users=_split(self.node.get(f"{camunda}candidateUsers")),
            assignee=self._assignee(),
            **self._form(),
            due_date=self._due(),
            priority=self._rank(),
            documentation=documentation.text if documentation is not None else None,
            properties=element_properties(self),
            outputs=self._outputs(),
        )

    def _given(self, attribute: str) -> str:
        return (self.node.get(f"{{{CAMUNDA_MODEL_NS}}}{attribute}") or "").strip()

    def _refuse(self, attribute: str, expected: str, text: str):
        self.raise_validation_exception(f"camunda:{attribute} 须为{expected}或表达式 ${{…}}，而不是 {text!r:.60} "
                                        f"(camunda:{attribute} must be {expected} or an expression)")

    def _assignee(self) -> str | Expression | None:
        """`camunda:assignee`: a username, or an expression (`${initiator}`) worked out when the task opens."""
        text = self._given("assignee")
        if is_juel(text):
            return Expression(python_expression(text))
        if len(text) > 64 or "{" in text:
            self._refuse("assignee", "用户名（最长 64 个字符）", text)
        return text or None

    def _due(self) -> datetime | Expression | None:
        """`camunda:dueDate`: an ISO 8601 date or date-time, or an expression giving one."""
        text = self._given("dueDate")
        if not text:
            return None
        if is_juel(text):
            return Expression(python_expression(text))
        found = due_moment(text)
        if found is None:
            self._refuse("dueDate", " ISO 8601 日期时间", text)
        return found

    def _rank(self) -> int | Expression:
        """`camunda:priority`: an integer, or an expression worked out when the task opens; Camunda's normal
        rank when the diagram sets none."""
        text = self._given("priority")
        if not text:
            return PRIORITY_NORMAL
        if re.fullmatch(r"[+-]?\d{1,10}", text) and abs(int(text)) <= PRIORITY_BOUND:
            return int(text)
        if is_juel(text):
            return Expression(python_expression(text))
        self._refuse("priority", "整数", text)

    def _outputs(self) -> tuple[OutputParameter, ...]:
        """`camunda:inputOutput/camunda:outputParameter`: only these reach the case's shared data."""
        return tuple(OutputParameter(node.get("name"), _parameter_value(node)) for node in
                     self.xpath("./bpmn:extensionElements/camunda:inputOutput/camunda:outputParameter")
                     if node.get("name"))

    def _form(self) -> dict:
        """The form a task names, as HumanTaskInfo's form fields (see `form_reference`)."""
        camunda = f"{{{CAMUNDA_MODEL_NS}}}"
        ref = (self.node.get(f"{camunda}formRef") or "").strip()
        if ref:
            binding = (self.node.get(f"{camunda}formRefBinding") or "latest").strip()
            if binding not in ("latest", "deployment", "version"):
                self.raise_validation_exception(f"未知的 camunda:formRefBinding: {binding}")
            version = None
            if binding == "version":
                text = (self.node.get(f"{camunda}formRefVersion") or "").strip()
                if not text.isdigit():
                    self.raise_validation_exception("camunda:formRefBinding=version 需要整数 camunda:formRefVersion")
                version = int(text)
            return {"form_key": ref, "form_kind": "form_js", "form_binding": binding, "form_version": version,
                    "form_ref": ref}
        key = (self.node.get(f"{camunda}formKey") or "").strip()
        if key:
            return form_reference(key)
        spiff = self.xpath(".//bpmn:extensionElements/spiffworkflow:properties/"
                           "spiffworkflow:property[@name='formJsonSchemaFilename']")
        if spiff and (spiff[0].get("value") or "").strip():
            name = spiff[0].get("value").strip()
            return {"form_key": name.removesuffix(".json").removesuffix("-schema") or None,
                    "form_kind": "json_schema", "form_ref": name}
        return {}


def form_reference(key: str) -> dict:
    """What a `camunda:formKey` names, as HumanTaskInfo's form fields.

    - an embedded HTML form (`embedded:app:forms/x.html`, `app:x.html`, `x.html`): the server neither shows nor
      checks it (no form key: the task takes any data, and says so);
    - a Camunda Form (`camunda-forms:deployment:x.form`, `camunda-forms:app:forms/x.form`, `app:x.form`): the
      form-js file deployed under its file name, the version deployed with the diagram for `deployment`;
    - anything else: a JSON Schema form of that key (`embedded:` / `app:` prefixes dropped).
    """
    if "${" in key or "#{" in key:
        return {"form_key": key, "form_kind": "json_schema", "form_ref": key}
    lowered = key.lower()
    if lowered.endswith((".html", ".htm")):
        return {"form_key": None, "form_kind": "embedded", "form_ref": key}
    if lowered.endswith(".form"):
        binding = "deployment" if key.startswith("camunda-forms:deployment:") else "latest"
        return {"form_key": key.rsplit(":", 1)[-1].rsplit("/", 1)[-1], "form_kind": "form_js",
                "form_binding": binding, "form_ref": key}
    return {"form_key": key.removeprefix("embedded:").removeprefix("app:").removeprefix("camunda-forms:"),
            "form_kind": "json_schema", "form_ref": key}


class DataInputMultiInstance:
    """Multi-instance over a data input, as BPMN writes it (`loopDataInputRef` / `inputDataItem`,
    `loopDataOutputRef` / `outputDataItem`), besides Camunda's `camunda:collection` / `elementVariable`: SpiffWorkflow's
    Camunda parser knows only the latter, its base parser the former."""

    def _add_multiinstance_task(self, loop_characteristics):
        if self.xpath("./bpmn:multiInstanceLoopCharacteristics/bpmn:loopDataInputRef"):
            return TaskParser._add_multiinstance_task(self, loop_characteristics)
        return super()._add_multiinstance_task(loop_characteristics)


class PlainTaskParser(CappedInstances, ElementProperties, DataInputMultiInstance, CamundaTaskParser):
    pass


class TransactionParser(CappedInstances, ElementProperties, DataInputMultiInstance, CamundaSubWorkflowParser):
    pass


class HumanUserTaskParser(CappedInstances, ElementProperties, DataInputMultiInstance, HumanTaskParsing, UserTaskParser):
    def create_task(self):
        form = self.get_form()
        human = self.human_info()
        if form.fields:  # Camunda's generated form: the diagram itself says what the task takes
            human = replace(human, form_key=None, inline_form=form_schema(form), form_kind="generated")
        return self.spec_class(self.spec, self.bpmn_id, form=form, human=human, **self.bpmn_attributes)


_FIELD_TYPES = {"string": {"type": "string"}, "textarea": {"type": "string"}, "long": {"type": "integer"},
                "integer": {"type": "integer"}, "double": {"type": "number"}, "number": {"type": "number"},
                "boolean": {"type": "boolean"}, "date": {"type": "string", "format": "date"}}
_LIMITS = {"minlength": "minLength", "maxlength": "maxLength", "min": "minimum", "max": "maximum"}


def form_schema(form) -> dict:
    """The JSON Schema of a Camunda generated form: field types, labels, enum values and validations."""
    properties, required = {}, []
    for item in form.fields:
        schema = dict(_FIELD_TYPES.get(item.type or "string", {}))
        if item.type == "enum":
            schema = {"type": "string", "enum": [option.id for option in item.options]}
        if item.label:
            schema["title"] = item.label
        for validation in item.validation:
            if validation.name == "required":
                required.append(item.id)
            elif validation.name in _LIMITS and validation.config not in (None, ""):
                try:
                    schema[_LIMITS[validation.name]] = float(validation.config) if "." in validation.config \
                        else int(validation.config)
                except ValueError:
                    continue
            elif validation.name == "readonly":
                schema["readOnly"] = True
        properties[item.id] = schema
    return {"type": "object", "properties": properties, **({"required": required} if required else {})}


class HumanManualTaskParser(CappedInstances, ElementProperties, DataInputMultiInstance, HumanTaskParsing, CamundaTaskParser):
    def create_task(self):
        return self.spec_class(self.spec, self.bpmn_id, human=self.human_info(), **self.bpmn_attributes)


class DecisionTaskParser(CappedInstances, ElementProperties, DataInputMultiInstance, BusinessRuleTaskParser):
    def create_task(self):
        ref = self.get_decision_ref(self.node)
        known = ref in self.process_parser.parser.dmn_parsers
        engine = self.process_parser.parser.get_engine(ref, self.node) if known else None
        return DecisionTask(self.spec, self.bpmn_id, dmnEngine=engine, decision_ref=ref, **self.bpmn_attributes)

    @staticmethod
    def get_decision_ref(node):
        ref = node.get(f"{{{CAMUNDA_MODEL_NS}}}decisionRef")
        if not ref:
            called = node.find(f".//{{{SPIFF_NS}}}calledDecisionId")
            ref = called.text.strip() if called is not None and called.text else None
        if not ref:
            raise ValidationException("业务规则任务未指定决策 (camunda:decisionRef or spiffworkflow:calledDecisionId)",
                                      node=node)
        return ref


class EmbeddedSubprocessParser(CappedInstances, ElementProperties, DataInputMultiInstance, CamundaTaskParser):
    """An embedded subprocess, or an event subprocess (`triggeredByEvent`), which Camunda's parser misses."""

    def create_task(self):
        subworkflow_spec = SubprocessParser.get_subprocess_spec(self)
        spec_class = EventSubprocess if self.node.get("triggeredByEvent") == "true" else self.spec_class
        return spec_class(self.spec, self.bpmn_id, subworkflow_spec=subworkflow_spec, **self.bpmn_attributes)


class CallParser(CappedInstances, ElementProperties, DataInputMultiInstance, CamundaTaskParser):
    def create_task(self):
        camunda = f"{{{CAMUNDA_MODEL_NS}}}"
        called = (self.node.get("calledElement") or "").strip()
        if not called:
            self.raise_validation_exception("调用活动未指定被调用流程 (callActivity without calledElement)")
        binding = (self.node.get(f"{camunda}calledElementBinding") or "latest").strip()
        if binding not in ("latest", "deployment", "version", "versionTag"):
            self.raise_validation_exception(f"未知的 calledElementBinding: {binding}")
        version = None
        if binding == "version":
            text = (self.node.get(f"{camunda}calledElementVersion") or "").strip()
            if not text.isdigit():
                self.raise_validation_exception("calledElementBinding=version 需要整数 calledElementVersion")
            version = int(text)
        if binding == "versionTag":
            self.raise_validation_exception("不支持 calledElementBinding=versionTag (version tags are not kept)")
        spec_key = called if binding == "latest" else f"{called}@v{version}" if version else f"{called}@{binding}"
        return ResolvedCallActivity(self.spec, self.bpmn_id, spec_key, called, binding=binding, version=version,
                                    variables_in=self._mappings("in"), variables_out=self._mappings("out"),
                                    **self.bpmn_attributes)

    def _mappings(self, direction: str) -> tuple[VariableMapping, ...]:
        result = []
        for node in self.xpath(f"./bpmn:extensionElements/camunda:{direction}"):
            if node.get("variables") == "all":
                result.append(VariableMapping(all=True))
            elif node.get("sourceExpression"):
                result.append(VariableMapping(target=node.get("target"),
                                              source_expression=python_expression(node.get("sourceExpression"))))
            elif node.get("source"):
                result.append(VariableMapping(source=node.get("source"), target=node.get("target")))
        return tuple(result)


class ServiceParser(CappedInstances, ElementProperties, CamundaTaskParser):
    """A service task: an external task for a worker, or a `camunda:expression` (see `external.py`); one with
    no implementation is refused, never skipped."""

    def create_task(self):
        found = implementation(self.node)
        if found is None:
            self.raise_validation_exception(
                "服务任务没有实现：请设置 camunda:type=\"external\" 和 camunda:topic，由外部工作者（worker）完成 "
                "(serviceTask without an implementation: camunda:type, class, expression, delegateExpression or "
                "connector)")
        kind, details = found
        if kind == "expression":
            return ExpressionServiceTask(self.spec, self.bpmn_id, expression=python_expression(details["value"]),
                                         result_variable=details["result"] or None, **self.bpmn_attributes)
        if kind == "type":
            if details["type"] != "external":
                self.raise_validation_exception(f"不支持的 camunda:type=\"{details['type']}\"（只支持 external）")
            if not details["topic"]:
                self.raise_validation_exception("外部任务缺少 camunda:topic (camunda:type=\"external\" without a topic)")
            topic = details["topic"]
        else:
            topic = f"{kind}:{details['value']}"
        info = ExternalInfo(topic=topic, priority=self._priority(), kind="external" if kind == "type" else kind,
                            outputs=tuple(OutputParameter(node.get("name"), _parameter_value(node)) for node in
                                          self.xpath("./bpmn:extensionElements/camunda:inputOutput/"
                                                     "camunda:outputParameter") if node.get("name")),
                            properties=element_properties(self),
                            inputs=tuple(OutputParameter(node.get("name"), _parameter_value(node)) for node in
                                         self.xpath("./bpmn:extensionElements/camunda:inputOutput/"
                                                    "camunda:inputParameter") if node.get("name")))
        return ExternalServiceTask(self.spec, self.bpmn_id, external=info, **self.bpmn_attributes)

    def _priority(self) -> int:
        text = (self.node.get(f"{{{CAMUNDA_MODEL_NS}}}taskPriority") or "0").strip()
        try:
            return int(text)
        except ValueError:
            self.raise_validation_exception(f"camunda:taskPriority 须为整数，而不是 {text!r}")


def _parameter_value(node):
    """An input/output parameter's value: its text, or a `camunda:map` / `camunda:list` of values (nested)."""
    for child in node:
        tag = child.tag.rsplit("}", 1)[-1] if isinstance(child.tag, str) else ""
        if tag == "map":
            return {entry.get("key"): _parameter_value(entry) for entry in child
                    if isinstance(entry.tag, str) and entry.tag.endswith("}entry") and entry.get("key")}
        if tag == "list":
            return tuple(_parameter_value(item) for item in child if isinstance(item.tag, str))
        if tag == "value":
            return (child.text or "").strip()
    text = (node.text or "").strip()
    return text or None


def _split(text: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (text or "").split(",") if part.strip())


class CappedScriptTaskParser(CappedInstances, ScriptTaskParser):
    pass


class TongbanParser(CamundaParser):
    """The one parser every deployment goes through."""

    OVERRIDE_PARSER_CLASSES = {
        **CamundaParser.OVERRIDE_PARSER_CLASSES,
        full_tag("userTask"): (HumanUserTaskParser, UserTask),
        full_tag("manualTask"): (HumanManualTaskParser, ManualUserTask),
        full_tag("startEvent"): (StartParser, StartEvent),
        full_tag("endEvent"): (EndParser, EndEvent),
        full_tag("intermediateCatchEvent"): (CatchParser, IntermediateCatchEvent),
        full_tag("intermediateThrowEvent"): (ThrowParser, IntermediateThrowEvent),
        full_tag("boundaryEvent"): (BoundaryParser, BoundaryEvent),
        full_tag("sendTask"): (SendParser, SendTask),
        full_tag("receiveTask"): (ReceiveParser, ReceiveTask),
        full_tag("exclusiveGateway"): (GatewayParser, ExclusiveGateway),
        full_tag("inclusiveGateway"): (GatewayParser, InclusiveGateway),
        full_tag("businessRuleTask"): (DecisionTaskParser, DecisionTask),
        full_tag("callActivity"): (CallParser, ResolvedCallActivity),
        full_tag("task"): (PlainTaskParser, NoneTask),
        full_tag("transaction"): (TransactionParser, TransactionSubprocess),
        full_tag("subProcess"): (EmbeddedSubprocessParser, CallActivity),
        full_tag("scriptTask"): (CappedScriptTaskParser, ScriptTask),
        full_tag("serviceTask"): (ServiceParser, ExternalServiceTask),
    }

    def __init__(self, validator=None) -> None:
        BpmnDmnParser.__init__(self, namespaces=NAMESPACES, validator=validator)

    def get_engine(self, decision_ref, node):
        """A business-rule task's decision, evaluated by our DMN engine (decisions.py: bounded work)."""
        if decision_ref not in self.dmn_parsers:
            options = ", ".join(self.dmn_parsers)
            raise ValidationException(f"未部署决策 {decision_ref}（可用：{options}）(no DMN decision with this id)",
                                      node=node, file_name="")
        dmn_parser = self.dmn_parsers[decision_ref]
        dmn_parser.parse()
        return TongbanDMNEngine(dmn_parser.decision.decisionTables[0])

    def get_subprocess_specs(self, name, specs=None, require_call_activity_specs=False):
        """The called processes found in this upload; any other is resolved when a case calls it."""
        found = super().get_subprocess_specs(name, specs, require_call_activity_specs=False)
        return found if specs is not None else {key: spec for key, spec in found.items() if spec is not None}
