"""Turning uploaded BPMN/DMN bytes into executable, cached process specs."""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.camunda.parser import CamundaParser
from SpiffWorkflow.exceptions import SpiffWorkflowException

from .errors import DefinitionError
from .timers import install_clocked_timers
from .xml import parse_xml

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
DMN_NAMESPACES = ("https://www.omg.org/spec/DMN/20191111/MODEL/", "http://www.omg.org/spec/DMN/20180521/MODEL/",
                  "https://www.omg.org/spec/DMN/20230324/MODEL/", "http://www.omg.org/spec/DMN/20151101/dmn.xsd")
NS = {"bpmn": BPMN_NS, "camunda": CAMUNDA_NS}
_VALIDATOR = BpmnValidator()
_NO_OUTGOING_OK = {"endEvent"}


@dataclass(frozen=True)
class UserTaskMeta:
    element_id: str
    name: str
    post: str | None
    form_key: str
    documentation: str | None = None


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
    boundary_of: dict[str, str] = field(default_factory=dict)  # boundary event id -> the task it is attached to


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


def dmn_decisions(tree: etree._ElementTree, filename: str) -> list[tuple[str, str]]:
    """The (id, name) of each decision of a DMN file, after SpiffWorkflow's DMN parser has accepted it."""
    root = tree.getroot()
    decisions = [(el.get("id"), el.get("name") or el.get("id"))
                 for el in root if isinstance(el.tag, str) and etree.QName(el).localname == "decision"]
    if not decisions:
        raise DefinitionError("DMN 文件中没有决策 (no decision element)", filename=filename)
    try:
        CamundaParser().add_dmn_xml(root, filename=filename)
    except Exception as exc:  # the DMN parser raises several exception types
        raise DefinitionError(f"DMN 无法解析: {exc}", filename=filename) from None
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


def compile_bpmn(content: bytes, filename: str, dmn_files: list[tuple[str, bytes]] = ()) -> list[CompiledProcess]:
    """Validate a BPMN file (schema, structure, timers) and compile each of its executable processes."""
    return compile_document(parse_xml(content, filename), filename, dmn_files)


def compile_document(tree: etree._ElementTree, filename: str,
                     dmn_files: list[tuple[str, bytes]] = ()) -> list[CompiledProcess]:
    """`compile_bpmn` for a document already parsed (with `xml.parse_xml`)."""
    root = tree.getroot()
    if etree.QName(root).namespace != BPMN_NS or etree.QName(root).localname != "definitions":
        raise DefinitionError("不是 BPMN 2.0 文件 (root element is not bpmn:definitions)", filename=filename)
    _check_outgoing_flows(root, filename)
    parser = CamundaParser(validator=_VALIDATOR)
    try:
        parser.add_bpmn_xml(tree, filename=filename)
        for dmn_name, dmn_content in dmn_files:
            parser.add_dmn_xml(parse_xml(dmn_content, dmn_name).getroot(), filename=dmn_name)
        processes = []
        for process_id, process_name in _executable_processes(root, filename):
            spec = parser.get_spec(process_id)
            subprocess_specs = parser.get_subprocess_specs(process_id)
            processes.append(_compiled(root, process_id, process_name, spec, subprocess_specs, filename))
    except ValidationException as exc:
        raise DefinitionError(
            f"BPMN 校验失败: {exc}", filename=filename, line=exc.line_number or None, element=exc.id or None
        ) from None
    except SpiffWorkflowException as exc:
        raise DefinitionError(f"BPMN 无法解析: {exc}", filename=filename) from None
    if not processes:
        raise DefinitionError("文件中没有可执行的流程 (no process with isExecutable=\"true\")", filename=filename)
    return processes


def _compiled(root, process_id, process_name, spec, subprocess_specs, filename) -> CompiledProcess:
    messages: set[str] = set()
    timer_start = False
    for each in [spec, *subprocess_specs.values()]:
        if each is None:
            continue
        install_clocked_timers(each, filename)
        messages |= _use_plain_messages(each)
    for task_spec in spec.task_specs.values():
        if type(task_spec).__name__ == "StartEvent" and isinstance(task_spec.event_definition, TimerEventDefinition):
            timer_start = True
    user_tasks = {}
    for node in root.iter(f"{{{BPMN_NS}}}userTask", f"{{{BPMN_NS}}}manualTask"):
        element_id = node.get("id")
        task_spec = _find_task_spec(spec, subprocess_specs, element_id)
        if task_spec is None:
            continue
        groups = (node.get(f"{{{CAMUNDA_NS}}}candidateGroups") or "").strip()
        post = groups.split(",")[0].strip() if groups else getattr(task_spec, "lane", None)
        doc = node.find(f"{{{BPMN_NS}}}documentation")
        user_tasks[element_id] = UserTaskMeta(
            element_id=element_id,
            name=node.get("name") or element_id,
            post=post or None,
            form_key=node.get(f"{{{CAMUNDA_NS}}}formKey") or element_id,
            documentation=doc.text if doc is not None else None,
        )
    boundary_of = {node.get("id"): node.get("attachedToRef")
                   for node in root.iter(f"{{{BPMN_NS}}}boundaryEvent")}
    return CompiledProcess(process_id, process_name, spec, subprocess_specs, user_tasks,
                           frozenset(messages), timer_start, boundary_of)


def _find_task_spec(spec, subprocess_specs, element_id):
    for each in [spec, *subprocess_specs.values()]:
        if each is not None and element_id in each.task_specs:
            return each.task_specs[element_id]
    return None


def _use_plain_messages(spec) -> set[str]:
    """Camunda's message definition wraps payloads; the plain one merges them into the case data."""
    names = set()
    for task_spec in spec.task_specs.values():
        definition = getattr(task_spec, "event_definition", None)
        if definition is None:
            continue
        task_spec.event_definition = _plain(definition, names)
    return names


def _plain(definition, names: set[str]):
    if isinstance(definition, MultipleEventDefinition):
        definition.event_definitions = [_plain(d, names) for d in definition.event_definitions]
        return definition
    if isinstance(definition, MessageEventDefinition):
        names.add(definition.name)
        if type(definition) is not MessageEventDefinition:
            return MessageEventDefinition(definition.name, definition.correlation_properties,
                                          description=definition.description)
    return definition


def _check_outgoing_flows(root, filename: str) -> None:
    """A flow node without an outgoing flow would leave a case stuck; refuse it at deploy time."""
    for process in root.iter(f"{{{BPMN_NS}}}process", f"{{{BPMN_NS}}}subProcess", f"{{{BPMN_NS}}}transaction"):
        sources = {flow.get("sourceRef") for flow in process.iterfind(f"{{{BPMN_NS}}}sequenceFlow")}
        for node in process:
            if not isinstance(node.tag, str):  # comments and processing instructions
                continue
            local = etree.QName(node).localname
            if local in _NO_OUTGOING_OK:
                continue
            is_flow_node = (local.endswith("Task") or local.endswith("Gateway") or local in (
                "task", "subProcess", "callActivity", "transaction", "startEvent", "intermediateCatchEvent",
                "intermediateThrowEvent", "boundaryEvent"))
            if not is_flow_node:
                continue
            if node.get("id") not in sources and not _compensation_boundary(node):
                raise DefinitionError(
                    f"元素 {node.get('name') or node.get('id')} 没有出口连线，流程会停滞 (no outgoing sequence flow)",
                    filename=filename, line=node.sourceline, element=node.get("id"))


def _compensation_boundary(node) -> bool:
    return node.find(f"{{{BPMN_NS}}}compensateEventDefinition") is not None
