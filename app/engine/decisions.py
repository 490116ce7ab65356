"""DMN decision tables, evaluated with bounded work in the server.

SpiffWorkflow's DMN engine marks the input (`?`) in an input entry with a regular expression that takes time
quadratic in the entry's length, in the server's own thread (an entry of 80,000 `?` froze a worker for
minutes). Our engine marks it with one linear scan, with the same meaning — a `?` outside quotes, that is
one followed by an even number of quote characters — and refuses entries longer than `MAX_CELL_CHARS`;
every input, entry and output is then evaluated in the sandbox as before (`script.py`). A deployed table has
at most `MAX_RULES` rules and cells of at most `MAX_CELL_CHARS` characters (`check_table`).
"""

from __future__ import annotations

import ast

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.dmn.engine.DMNEngine import DMNEngine

from .errors import DefinitionError

MAX_CELL_CHARS = 1000  # an input expression, input entry or output entry
MAX_RULES = 1000  # rules of one decision table
INPUT_MARK = "dmninputexpr"  # what SpiffWorkflow names the input inside an entry that uses `?`
_QUOTES = "'\""


def mark_input(text: str) -> str:
    """Each `?` outside quotes becomes the input's name (SpiffWorkflow's meaning, in linear time)."""
    quotes_after = sum(text.count(q) for q in _QUOTES)
    out = []
    for char in text:
        if char in _QUOTES:
            quotes_after -= 1
        out.append(INPUT_MARK if char == "?" and quotes_after % 2 == 0 else char)
    return "".join(out)


def _parses(text: str) -> bool:
    try:
        ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def cell_expression(input_expression: str, entry: str) -> str:
    """The expression an input entry becomes: `? > 5` → `dmninputexpr > 5`, `"a"` → `(x) == ("a")`, `< 5` → `x< 5`."""
    marked = mark_input(entry)
    if INPUT_MARK in marked:
        return marked
    return f"({input_expression}) == ({marked})" if _parses(marked) else f"{input_expression}{marked}"


class TongbanDMNEngine(DMNEngine):
    """SpiffWorkflow's DMN engine with the input marked in linear time and entries bounded in length."""

    def evaluate(self, input_expr, match_expr, task):
        if match_expr is None:
            return True
        for text in (input_expr, match_expr):
            if isinstance(text, str) and len(text) > MAX_CELL_CHARS:
                raise WorkflowTaskException(f"决策表条目超过 {MAX_CELL_CHARS} 个字符 (a DMN entry is too long)",
                                            task=task)
        script_engine = task.workflow.script_engine
        marked = mark_input(match_expr)
        if INPUT_MARK in marked:
            context = {INPUT_MARK: script_engine.evaluate(task, input_expr)}
            return script_engine.evaluate(task, marked, external_context=context)
        script_engine.validate(input_expr)
        return script_engine.evaluate(task, cell_expression(input_expr, match_expr))


def check_table(table, filename: str, line_of, compile_check=None) -> None:
    """Refuse at deploy a decision table too large to evaluate in bounded time, or whose cells do not compile.

    `line_of(element id)`: the source line of an element; `compile_check(text) -> problem or None`: the
    sandbox's compiler (each input, entry and output as it will be evaluated).
    """
    from .sandbox_checks import KIND_NAMES, decision_cells

    if len(table.rules) > MAX_RULES:
        raise DefinitionError(f"决策表 {table.id} 有 {len(table.rules)} 条规则，超过上限 {MAX_RULES} "
                              f"(a decision table of more than {MAX_RULES} rules)", filename=filename,
                              element=table.id, line=line_of(table.id))
    raw = [(item.id, item.expression) for item in table.inputs]
    raw += [(entry.id, text) for rule in table.rules for entry in rule.inputEntries for text in entry.lhs]
    raw += [(entry.id, getattr(entry, "text", None)) for rule in table.rules for entry in rule.outputEntries]
    for element, text in raw:
        if isinstance(text, str) and len(text) > MAX_CELL_CHARS:
            raise DefinitionError(f"决策表 {table.id} 的条目 {element} 超过 {MAX_CELL_CHARS} 个字符 "
                                  f"(a DMN entry longer than {MAX_CELL_CHARS} characters)", filename=filename,
                                  element=element, line=line_of(element))
    if compile_check is None:
        return
    for cell in decision_cells(table):
        problem = compile_check(cell.text)
        if problem is not None:
            raise DefinitionError(f"决策表 {table.id} 的{KIND_NAMES[cell.kind]} {cell.element} 无法编译：{problem} "
                                  f"({cell.kind} does not compile)", filename=filename, element=cell.element,
                                  line=line_of(cell.element))
