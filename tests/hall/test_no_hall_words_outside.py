"""The hall is a plugin: no module outside app/hall names one of its element ids or form keys.

The hall's meaning lives in the diagrams (camunda:properties) and in app/hall/vocabulary.py; the runtime,
the engine and the other domains must not key on the ids the generator happens to give the hall's elements
(`decide`, `end_granted`, `supplement_check`...) or on the hall's form keys.
"""

from __future__ import annotations

import ast
from pathlib import Path

from lxml import etree

ROOT = Path(__file__).resolve().parents[2]
BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
# Words that are also another vocabulary's, on purpose: post kinds (people.models) and the generic "start".
OTHER_VOCABULARIES = {"start", "review", "approve", "supervise"}


def hall_words() -> set[str]:
    words = {path.stem for path in (ROOT / "forms").glob("*.json")}
    for path in (ROOT / "processes").rglob("*.bpmn"):
        for node in etree.parse(str(path)).getroot().iter():
            if isinstance(node.tag, str) and etree.QName(node).namespace == BPMN and node.get("id") \
                    and etree.QName(node).localname not in ("process", "definitions", "collaboration",
                                                             "participant", "laneSet", "lane", "sequenceFlow"):
                words.add(node.get("id"))
    return {w for w in words if not w.startswith(("matter_", "Flow_", "Lane_")) and w not in OTHER_VOCABULARIES}


def literals(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            yield node.lineno, node.value


def test_the_hall_words_are_found():
    words = hall_words()
    assert {"decide", "end_granted", "supplement_check", "first_review", "accept"} <= words


def test_no_module_outside_the_hall_package_names_a_hall_element_id_or_form_key():
    words = hall_words()
    found = []
    for path in sorted((ROOT / "app").rglob("*.py")):
        if (ROOT / "app" / "hall") in path.parents:
            continue
        found += [f"{path.relative_to(ROOT)}:{line}: {value!r}" for line, value in literals(path) if value in words]
    assert not found, "hall words outside app/hall:\n" + "\n".join(found)
