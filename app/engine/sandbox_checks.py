"""Deploy-time checks of what a diagram will evaluate: every script, condition and expression of a parsed process
compiles under the sandbox's rules (syntax, no `_` names, imports only from the allow-list, no classes).

Only compiles; nothing runs. `check_spec` is meant for the deploy path (see `compiler.py`), which can turn each
finding into a DefinitionError for its element.
"""

from __future__ import annotations

from collections.abc import Iterator

from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from .sandbox_runtime import check_source
from .timers import is_cron, is_iso_literal


def check_spec(spec, subprocess_specs: dict | None = None) -> list[tuple[str, str]]:
    """(element id, reason) for each script, condition or expression of the process that the sandbox refuses."""
    problems: list[tuple[str, str]] = []
    for process in [spec, *(subprocess_specs or {}).values()]:
        for task_spec in process.task_specs.values():
            element = getattr(task_spec, "bpmn_id", None) or task_spec.name
            for text, mode in sources_of(task_spec):
                message = check_source(text, mode)
                if message is not None:
                    problems.append((element, message))
    return problems


def sources_of(task_spec) -> Iterator[tuple[str, str]]:
    """The texts one task spec evaluates, each with its mode ('exec' for scripts, 'eval' for expressions)."""
    for attribute in ("script", "prescript", "postscript"):
        text = getattr(task_spec, attribute, None)
        if isinstance(text, str) and text.strip():
            yield text, "exec"
    for condition, _target in getattr(task_spec, "cond_task_specs", None) or ():
        text = (getattr(condition, "args", None) or [None])[0]
        if isinstance(text, str) and text.strip():
            yield text, "eval"
    for attribute in ("cardinality", "condition"):
        text = getattr(task_spec, attribute, None)
        if isinstance(text, str) and text.strip():
            yield text, "eval"
    for attribute in ("variables_in", "variables_out"):  # call activities' in/out mappings (specs.py)
        for mapping in getattr(task_spec, attribute, None) or ():
            text = getattr(mapping, "source_expression", None)
            if isinstance(text, str) and text.strip():
                yield text, "eval"
    yield from _event_expressions(getattr(task_spec, "event_definition", None))


def _event_expressions(definition) -> Iterator[tuple[str, str]]:
    if definition is None:
        return
    if isinstance(definition, MultipleEventDefinition):
        for inner in definition.event_definitions:
            yield from _event_expressions(inner)
        return
    text = getattr(definition, "expression", None)
    if not isinstance(text, str) or not text.strip():
        return
    if isinstance(definition, TimerEventDefinition) and (is_iso_literal(text) or is_cron(text)):
        return  # a bare ISO 8601 value or a cron expression (Camunda Modeler's ways) is a literal, not Python
    yield text, "eval"
