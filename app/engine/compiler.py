"""Turning uploaded BPMN/DMN bytes into executable process specs, parsed once per version.

Parsing goes through `parser.TongbanParser` (SpiffWorkflow's Camunda parser with our task and event parsers
registered); what the service needs to know about a process is read from the specs it built, never from the
XML again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import SignalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.exceptions import SpiffWorkflowException

from .decisions import check_table
from .errors import DefinitionError
from .parser import TongbanParser
from .specs import HumanTaskMixin, ResolvedCallActivity, element_properties
from .spiff_dialect import TongbanSpiffParser, is_spiff_dialect
from .timers import check_expression, event_definitions, timers_of
from .xml import parse_xml

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
DMN_NAMESPACES = ("https://www.omg.org/spec/DMN/20191111/MODEL/", "http://www.omg.org/spec/DMN/20180521/MODEL/",
                  "https://www.omg.org/spec/DMN/20230324/MODEL/", "http://www.omg.org/spec/DMN/20151101/dmn.xsd")
_VALIDATOR = BpmnValidator()


@dataclass(frozen=True)
class UserTaskMeta:
    element_id: str
    name: str
    post: str | None
    form_key: str | None
    documentation: str | None = None
    candidate_groups: tuple[str, ...] = ()
    properties: dict = field(default_factory=dict)
    inline_form: dict | None = None
    outputs: tuple[str, ...] = ()  # its camunda:outputParameter names: only these reach the shared data
    other_posts: tuple[str, ...] = ()  # its further candidate groups (HumanTaskInfo.other_posts)
    instructions: str | None = None  # SpiffWorkflow's instructionsForEndUser
    form_kind: str | None = None  # json_schema | form_js | embedded (HumanTaskInfo)
    form_binding: str = "latest"
    form_version: int | None = None
    form_ref: str | None = None


@dataclass
class CompiledProcess:
    """One executable process of one deployed version: parsed once, shared by all its cases."""

    key: str
    name: str
    spec: object
    subprocess_specs: dict
    user_tasks: dict[str, UserTaskMeta] = field(default_factory=dict)
    message_names: frozenset[str] = frozenset()
    timer_start: bool = False
    start_messages: frozenset[str] = frozenset()  # a message with one of these names starts a case
    start_signals: frozenset[str] = frozenset()
    called: frozenset[str] = frozenset()  # processes called from here and not in the same file
    decisions: frozenset[str] = frozenset()
    properties: dict[str, dict[str, str]] = field(default_factory=dict)  # element id -> its camunda:properties
    initiator: str | None = None  # camunda:initiator: the variable that gets the username of whoever starts a case

    def element_properties(self, element_id: str | None) -> dict[str, str]:
        """What the diagram declares on an element (camunda:properties), for the hooks that give it meaning."""
        return self.properties.get(element_id or "", {})


def document_kind(tree: etree._ElementTree, filename: str) -> str:
    """'bpmn' or 'dmn', from the root element's namespace."""
    root = tree.getroot()
    namespace = etree.QName(root).namespace
    if namespace == BPMN_NS and etree.QName(root).localname == "definitions":
        return "bpmn"
    if namespace in DMN_NAMESPACES:
        return "dmn"
    raise DefinitionError("不是 BPMN 2.0 或 DMN 文件 (root element is not bpmn:definitions or dmn:definitions)",
                          filename=filename)


def dmn_decisions(tree: etree._ElementTree, filename: str, expression_check=None) -> list[tuple[str, str]]:
    """The (id, name) of each decision of a DMN file, after SpiffWorkflow's DMN parser has accepted it and its
    tables passed `decisions.check_table` (size; each cell compiled by `expression_check`, when given)."""
    root = tree.getroot()
    decisions = [(el.get("id"), el.get("name") or el.get("id"))
                 for el in root if isinstance(el.tag, str) and etree.QName(el).localname == "decision"]
    if not decisions:
        raise DefinitionError("DMN 文件中没有决策 (no decision element)", filename=filename)
    parser = TongbanParser()
    try:
        parser.add_dmn_xml(root, filename=filename)
        tables = []
        for decision_id, _ in decisions:
            dmn_parser = parser.dmn_parsers[decision_id]
            dmn_parser.parse()
            tables += dmn_parser.decision.decisionTables
    except Exception as exc:  # the DMN parser raises several exception types
        raise DefinitionError(f"DMN 无法解析: {exc}", filename=filename) from None
    by_id = {node.get("id"): node.sourceline for node in root.iter() if isinstance(node.tag, str) and node.get("id")}
    for table in tables:
        check_table(table, filename, by_id.get, expression_check)
    return decisions


def _executable_processes(root, filename: str) -> list[tuple[str, str]]:
    found = []
    for process in root.iterfind(f"{{{BPMN_NS}}}process"):
        if not process.get("id"):
            raise DefinitionError("流程缺少 id 属性 (bpmn:process without an id)", filename=filename,
                                  line=process.sourceline)
        if process.get("isExecutable", "true").lower() == "true":
            found.append((process.get("id"), process.get("name") or process.get("id")))
    return found


def compile_bpmn(content: bytes, filename: str, dmn_files: list[tuple[str, bytes]] = (),
                 expression_check=None) -> list[CompiledProcess]:
    """Validate a BPMN file (schema, structure, timers) and compile each of its executable processes."""
    return compile_document(parse_xml(content, filename), filename, dmn_files, expression_check)


def compile_document(tree: etree._ElementTree, filename: str, dmn_files: list[tuple[str, bytes]] = (),
                     expression_check=None) -> list[CompiledProcess]:
    """`compile_bpmn` for a document already parsed (with `xml.parse_xml`).

    `expression_check(text) -> problem or None` compiles each timer expression (the sandbox's compiler).
    """
    root = tree.getroot()
    if etree.QName(root).namespace != BPMN_NS or etree.QName(root).localname != "definitions":
        raise DefinitionError("不是 BPMN 2.0 文件 (root element is not bpmn:definitions)", filename=filename)
    _refuse_unsupported(root, filename)
    parser = TongbanSpiffParser(validator=_VALIDATOR) if is_spiff_dialect(root) else TongbanParser(validator=_VALIDATOR)
    try:
        parser.add_bpmn_xml(tree, filename=filename)
        for dmn_name, dmn_content in dmn_files:
            parser.add_dmn_xml(parse_xml(dmn_content, dmn_name).getroot(), filename=dmn_name)
        processes = []
        for process_id, process_name in _executable_processes(root, filename):
            spec = parser.get_spec(process_id)
            subprocess_specs = parser.get_subprocess_specs(process_id)
            processes.append(_compiled(process_id, process_name, spec, subprocess_specs, filename,
                                       expression_check))
    except ValidationException as exc:
        raise DefinitionError(
            f"BPMN 校验失败: {exc}", filename=filename, line=exc.line_number or _line_of(root, exc.id) or None,
            element=exc.id or None) from None
    except SpiffWorkflowException as exc:
        raise DefinitionError(f"BPMN 无法解析: {exc}", filename=filename) from None
    except (KeyError, ValueError, TypeError, AttributeError, NotImplementedError) as exc:
        # SpiffWorkflow's parser raises these on some malformed but schema-valid diagrams
        raise DefinitionError(f"BPMN 无法解析: {type(exc).__name__}: {exc}", filename=filename) from None
    if not processes:
        raise DefinitionError("文件中没有可执行的流程 (no process with isExecutable=\"true\")", filename=filename)
    return processes


def _line_of(root, element_id: str | None) -> int | None:
    """The line of the element SpiffWorkflow's validation named (its exception carries the id, not the line)."""
    if not element_id:
        return None
    for node in root.iter():
        if isinstance(node.tag, str) and node.get("id") == element_id:
            return node.sourceline
    return None


# What SpiffWorkflow 3.2 cannot execute, with the reason given to the analyst (docs/bpmn-support.md).
_UNSUPPORTED = {
    "compensateEventDefinition": "不支持补偿事件：SpiffWorkflow 3.2 不能执行补偿 (compensation is not supported)",
    "complexGateway": "不支持复杂网关 (complexGateway is not supported by SpiffWorkflow 3.2)",
}


def _refuse_unsupported(root, filename: str) -> None:
    for node in root.iter():
        if not isinstance(node.tag, str) or etree.QName(node).namespace != BPMN_NS:
            continue
        reason = _UNSUPPORTED.get(etree.QName(node).localname)
        if reason is not None:
            holder = node if node.get("id") and not etree.QName(node).localname.endswith("Definition") \
                else node.getparent()
            raise DefinitionError(reason, filename=filename, line=node.sourceline, element=holder.get("id"))


def _compiled(process_id, process_name, spec, subprocess_specs, filename, expression_check) -> CompiledProcess:
    messages: set[str] = set()
    start_messages: set[str] = set()
    start_signals: set[str] = set()
    called: set[str] = set()
    decisions: set[str] = set()
    user_tasks: dict[str, UserTaskMeta] = {}
    properties: dict[str, dict[str, str]] = {}
    timer_start = False
    initiator = next((t.initiator for t in spec.task_specs.values() if getattr(t, "initiator", None)), None)
    specs = [spec, *(s for s in subprocess_specs.values() if s is not None)]
    for each in specs:
        _connect_run_time_links(each)
        for task_spec in each.task_specs.values():
            if task_spec.bpmn_id and getattr(task_spec, "extensions", None):
                properties[task_spec.bpmn_id] = element_properties(task_spec.extensions)
            definition = getattr(task_spec, "event_definition", None)
            for timer in timers_of(definition) if definition is not None else ():
                check_expression(timer, task_spec.bpmn_id or task_spec.name, filename, expression_check)
            for inner in event_definitions(definition):  # a message or signal must be named to be sent or awaited
                if isinstance(inner, (MessageEventDefinition, SignalEventDefinition)) and not inner.name:
                    kind = "消息" if isinstance(inner, MessageEventDefinition) else "信号"
                    raise DefinitionError(f"元素 {task_spec.bpmn_id} 等待或发出的{kind}没有引用{kind}定义，事件也没有名称，"
                                          f"无法收发 (message/signal event without messageRef/signalRef)",
                                          filename=filename, element=task_spec.bpmn_id)
            names = {d.name for d in event_definitions(definition) if isinstance(d, MessageEventDefinition)}
            messages |= names
            if isinstance(task_spec, StartEvent) and each is spec:
                start_messages |= names
                start_signals |= {d.name for d in event_definitions(definition) if isinstance(d, SignalEventDefinition)}
                timer_start = timer_start or isinstance(definition, TimerEventDefinition)
            if isinstance(task_spec, ResolvedCallActivity) and task_spec.spec not in subprocess_specs:
                called.add(task_spec.called_element)
            if hasattr(task_spec, "dmnEngine"):
                decisions.add(getattr(task_spec, "decision_ref", None)
                              or getattr(task_spec.dmnEngine.decision_table, "id", "") or "")
            if isinstance(task_spec, HumanTaskMixin) and task_spec.bpmn_id:
                info = task_spec.human
                user_tasks[task_spec.bpmn_id] = UserTaskMeta(
                    task_spec.bpmn_id, task_spec.bpmn_name or task_spec.bpmn_id, info.post(task_spec.lane),
                    info.form_key, info.documentation, info.candidate_groups, dict(info.properties), info.inline_form,
                    tuple(o.name for o in info.outputs), info.other_posts, info.instructions, info.form_kind,
                    info.form_binding, info.form_version, info.form_ref)
    return CompiledProcess(process_id, process_name, spec, dict(subprocess_specs), user_tasks, frozenset(messages),
                           timer_start, frozenset(start_messages), frozenset(start_signals), frozenset(called),
                           frozenset(d for d in decisions if d), properties, initiator)


def _connect_run_time_links(spec) -> None:
    """Make now the links SpiffWorkflow makes in a shared spec at run time, so a fresh parse has them too.

    Message/signal event subprocesses are linked to their process now, not when a case first triggers one.

    SpiffWorkflow connects such a subprocess to the start and end of its process the first time an event
    triggers it, changing the shared spec at run time; a spec parsed afresh (another worker, a restart)
    would then refuse to run a case that was triggered elsewhere. The inputs are set, not the start's
    outputs, so the subprocess still waits for its event.
    """
    start = spec.start
    for name in getattr(start, "trigger_specs", ()):
        task_spec = spec.task_specs.get(name)
        if task_spec is None:
            continue
        if start not in task_spec.inputs:
            task_spec.inputs = [*task_spec.inputs, start]
        if spec.end not in task_spec.outputs:
            task_spec.connect(spec.end)
    # Loops and multi-instance tasks hear of a finished iteration through an event SpiffWorkflow connects
    # when the first iteration starts; connected here, a case restored from storage hears it as well.
    for task_spec in spec.task_specs.values():
        merge = getattr(task_spec, "merge_child", None)
        child = spec.task_specs.get(getattr(task_spec, "task_spec", None) or "")
        if merge is not None and child is not None and not child.completed_event.is_connected(merge):
            child.completed_event.connect(merge)


def decision_engine(content: bytes, filename: str, decision_id: str):
    """The DMN engine of one decision of a deployed DMN file (a business-rule task resolving it at run time)."""
    parser = TongbanParser(validator=_VALIDATOR)
    try:
        parser.add_dmn_xml(parse_xml(content, filename).getroot(), filename=filename)
        return parser.get_engine(decision_id, None)
    except (ValidationException, SpiffWorkflowException, KeyError, ValueError) as exc:
        raise LookupError(f"{decision_id}: {exc}") from None
