"""What a diagram will evaluate, found once for the deploy check: every script, condition and expression of a
compiled process and of a decision table, each with its element, and checks that only compile (nothing runs).

`evaluated(specs)` lists the texts of a process — scripts (and pre/post scripts), gateway conditions,
multi-instance cardinalities and completion conditions, loop conditions, conditional events, timer, message
and correlation expressions, call activities' `camunda:in`/`camunda:out` source expressions; `decision_cells(table)` those of a
DMN decision table (input expressions, input entries as SpiffWorkflow will evaluate them, output entries).
The deploy flow (`definitions/checks.py`) refuses a file whose text the sandbox would refuse, naming the element;
`check_spec` is the same check on one process, for tools and tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from .decisions import cell_expression
from .sandbox_runtime import check_source
from .timers import is_cron, is_iso_literal


@dataclass(frozen=True)
class Evaluated:
    element: str  # the diagram element that holds the text (a gateway's condition: the gateway)
    kind: str  # script | condition | loop cardinality | ... (KIND_NAMES)
    text: str
    mode: str  # 'exec' for scripts, 'eval' for expressions
    target: str | None = None  # a gateway condition's target element


KIND_NAMES = {"script": "脚本", "service expression": "服务任务的表达式", "prescript": "前置脚本", "postscript": "后置脚本", "condition": "条件",
              "loop cardinality": "多实例数量", "completion condition": "多实例完成条件", "loop condition": "循环条件",
              "event condition": "条件事件的条件", "timer": "定时器表达式", "message": "消息表达式",
              "correlation": "关联表达式",
              "call input": "调用输入映射 camunda:in", "call output": "调用输出映射 camunda:out",
              "input expression": "决策输入表达式", "input entry": "决策输入条目", "output entry": "决策输出条目"}


def element_of(spec_name: str) -> str:
    """The diagram element behind a spec the parser derived (`review.BoundaryEventSplit` → `review`)."""
    for suffix in (".BoundaryEventSplit", ".BoundaryEventJoin", " [child]"):
        if spec_name.endswith(suffix):
            return spec_name[: -len(suffix)]
    return spec_name


def evaluated(specs) -> Iterator[Evaluated]:
    """Every text the given process specs evaluate (a process and its subprocess specs)."""
    for spec in specs:
        for task_spec in spec.task_specs.values():
            yield from sources_of(task_spec)


def sources_of(task_spec) -> Iterator[Evaluated]:
    element = getattr(task_spec, "bpmn_id", None) or element_of(task_spec.name)
    for attribute in ("script", "prescript", "postscript"):
        text = getattr(task_spec, attribute, None)
        if _text(text):
            yield Evaluated(element, attribute, text, "exec")
    text = getattr(task_spec, "expression", None)  # a service task's camunda:expression (external.py)
    if isinstance(text, str) and _text(text):
        yield Evaluated(element, "service expression", text, "eval")
    for condition, target in getattr(task_spec, "cond_task_specs", None) or ():
        args = getattr(condition, "args", None)  # SpiffWorkflow keeps the text in a condition object
        text = args[0] if args and isinstance(args[0], str) else condition
        if _text(text):
            yield Evaluated(element, "condition", text, "eval", element_of(target))
    if hasattr(task_spec, "task_spec"):  # a loop or multi-instance activity
        for attribute, kind in (("cardinality", "loop cardinality"), ("condition", "completion condition")):
            text = getattr(task_spec, attribute, None)
            if _text(text):
                kind = "loop condition" if attribute == "condition" and hasattr(task_spec, "test_before") else kind
                yield Evaluated(element, kind, text, "eval")
    for attribute, kind in (("variables_in", "call input"), ("variables_out", "call output")):
        for mapping in getattr(task_spec, attribute, None) or ():
            text = getattr(mapping, "source_expression", None)
            if _text(text):
                yield Evaluated(element, kind, text, "eval")
    yield from _event_expressions(element, getattr(task_spec, "event_definition", None))


def _event_expressions(element: str, definition) -> Iterator[Evaluated]:
    if definition is None:
        return
    if isinstance(definition, MultipleEventDefinition):
        for inner in definition.event_definitions:
            yield from _event_expressions(element, inner)
        return
    for prop in [*(getattr(definition, "correlation_properties", None) or ()),
                 *(getattr(definition, "process_correlations", None) or ())]:
        retrieval = getattr(prop, "retrieval_expression", None)
        if isinstance(retrieval, str) and _text(retrieval):
            yield Evaluated(element, "correlation", retrieval, "eval")
    text = getattr(definition, "expression", None)
    if not _text(text):
        return
    if isinstance(definition, TimerEventDefinition):
        if not (is_iso_literal(text) or is_cron(text)):  # a bare ISO 8601 value or a cron is a literal, not Python
            yield Evaluated(element, "timer", text, "eval")
    elif type(definition).__name__ == "ConditionalEventDefinition":
        yield Evaluated(element, "event condition", text, "eval")
    else:
        yield Evaluated(element, "message", text, "eval")


def decision_cells(table) -> Iterator[Evaluated]:
    """Every text a DMN decision table evaluates, each named by its input, rule entry or output entry id."""
    for item in table.inputs:
        if _text(item.expression):
            yield Evaluated(item.id, "input expression", item.expression, "eval")
    for rule in table.rules:
        for entry in rule.inputEntries:
            for text in entry.lhs:
                if _text(text):
                    yield Evaluated(entry.id, "input entry", cell_expression(entry.input.expression or "_", text),
                                    "eval")
        for entry in rule.outputEntries:
            if _text(getattr(entry, "text", None)):
                yield Evaluated(entry.id, "output entry", entry.text, "eval")


def check_spec(spec, subprocess_specs: dict | None = None) -> list[tuple[str, str]]:
    """(element id, reason) for each script, condition or expression of the process that the sandbox refuses."""
    specs = [spec, *(s for s in (subprocess_specs or {}).values() if s is not None)]
    return [(item.element, message) for item in evaluated(specs)
            if (message := check_source(item.text, item.mode)) is not None]


def _text(value) -> bool:
    return isinstance(value, str) and bool(value.strip())
