"""Expressions as modelers write them: Camunda's `${...}` / `#{...}` (JUEL) next to SpiffWorkflow's Python.

Camunda Modeler writes gateway conditions like `${approved == true && amount > 100}` and timers like
`${reminder}`. SpiffWorkflow evaluates every expression as Python, so such a diagram fails at run time.
This module turns the common subset of JUEL (names, property access, literals, comparison and logical
operators, `empty`, `not`) into the equivalent Python once, when the diagram is parsed; the result then runs
in the same sandboxed script engine as every other expression. Anything else stays as written (Python).
"""

from __future__ import annotations

import re

_WRAPPED = re.compile(r"^\s*[$#]\{(?P<body>.*)\}\s*$", re.S)
_TOKEN = re.compile(r"""
    (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<op>&&|\|\||!=|==|<=|>=|!|<|>)
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<other>.)
""", re.S | re.X)
_WORDS = {"true": "True", "false": "False", "null": "None", "and": "and", "or": "or", "not": "not",
          "eq": "==", "ne": "!=", "lt": "<", "gt": ">", "le": "<=", "ge": ">=", "div": "/", "mod": "%"}
_OPS = {"&&": " and ", "||": " or ", "!": " not "}


def is_juel(text: str | None) -> bool:
    return bool(text) and _WRAPPED.match(text) is not None


def juel_to_python(text: str) -> str:
    """`${a && !b}` → `a and not b`; text that is not `${...}` / `#{...}` is returned unchanged."""
    match = _WRAPPED.match(text or "")
    if match is None:
        return text
    tokens = [(t.lastgroup, t.group()) for t in _TOKEN.finditer(match.group("body"))]
    out: list[str] = []
    for index, (kind, value) in enumerate(tokens):
        previous = out[-1] if out else ""
        if kind == "op":
            out.append(_OPS.get(value, f" {value} "))
        elif kind == "word" and previous == "." and not _calls(tokens, index):
            out[-1] = f'["{value}"]'  # JUEL reads a map's entry as a property: `${form.amount}`
        elif kind == "word" and previous != "." and value == "empty":
            out.append(" not ")
        elif kind == "word" and previous != ".":
            out.append(f" {_WORDS[value]} " if value in _WORDS else value)
        else:
            out.append(value)
    return re.sub(r"\s+", " ", "".join(out)).strip()


def _calls(tokens: list[tuple[str, str]], index: int) -> bool:
    rest = [value for kind, value in tokens[index + 1:] if value.strip()]
    return bool(rest) and rest[0] == "("


def python_expression(text: str | None) -> str | None:
    """The Python form of an expression found in a diagram (JUEL translated, Python kept)."""
    if text is None:
        return None
    return juel_to_python(text) if is_juel(text) else text
