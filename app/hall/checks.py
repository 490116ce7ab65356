"""The hall's deploy check: every `hall.*` extension property a diagram declares is one the hall knows, with a
value it knows, on an element where it means something. An analyst's typo in Camunda Modeler (`hall.stpe`,
`hall.notice=delivry`) is a 422 naming the element and line, not a case that silently loses its clock."""

from __future__ import annotations

import sqlalchemy as sa
from lxml import etree

from ..definitions import checks
from ..extensions import db
from ..people.models import Department
from . import notices, vocabulary
from .intake import CHECKLIST
from .vocabulary import Step

_CHOICES: dict[str, tuple[str, ...]] = {
    vocabulary.STEP: tuple(vocabulary.Step),
    vocabulary.OUTCOME: tuple(vocabulary.Outcome),
    vocabulary.PAUSE: tuple(vocabulary.Pause),
    vocabulary.FORWARD_CLOCK: tuple(vocabulary.ForwardClock),
    CHECKLIST: ("acceptance", "supplement"),
}
_FREE = (vocabulary.SPECIAL, vocabulary.DEPARTMENT, vocabulary.SPECIAL_RULE)  # a name, a code, a rule: non-empty
_NOTICES = (notices.NOTICE, notices.NOTICE_ON_ENTER)
KNOWN = (*_CHOICES, *_FREE, *_NOTICES, vocabulary.MAX_DAYS)


def _departments() -> set[str]:
    return set(db.session.scalars(sa.select(Department.code)))


def _problem(filename: str, tree, element: str, name: str, value: str, why: str) -> dict:
    return {"code": "invalid_hall_property", "file": filename, "line": checks.line_of(tree, element),
            "element": element, "property": name, "value": value,
            "message": f"{filename}: 元素 {element} 的扩展属性 {name}={value!r} {why}"}


def _value_problem(name: str, value: str) -> str | None:
    if name in _CHOICES and value not in _CHOICES[name]:
        return f"无效，应为 {' | '.join(_CHOICES[name])} 之一 (unknown value)"
    if name in _NOTICES:
        unknown = notices.unknown(value)
        if unknown or not notices.parse(value):
            return (f"含未知文书种类 {'、'.join(unknown) or '（空）'}，可用：{', '.join(k for k, v in notices.KINDS.items() if v.diagram)} "
                    "(unknown notice kind)")
    if name == vocabulary.MAX_DAYS and not (value.isdigit() and int(value) > 0):
        return "应为正整数（工作日） (max_days must be a positive whole number)"
    if name in _FREE and not value.strip():
        return "不能为空 (empty)"
    return None


def property_problems(processes, tree: etree._ElementTree | None, filename: str) -> list[dict]:
    found, seen = [], set()
    for process in processes:
        for element, properties in process.properties.items():
            for name, value in properties.items():
                if not name.startswith("hall.") or (element, name) in seen:
                    continue
                seen.add((element, name))
                value = value if isinstance(value, str) else str(value)
                if name not in KNOWN:
                    found.append(_problem(filename, tree, element, name, value,
                                          f"不是大厅的扩展属性，可用：{', '.join(KNOWN)} (unknown hall property)"))
                    continue
                why = _value_problem(name, value)
                if why is not None:
                    found.append(_problem(filename, tree, element, name, value, why))
            step = vocabulary.step_of(properties)
            for name, needs in ((vocabulary.FORWARD_CLOCK, Step.FORWARD), (vocabulary.DEPARTMENT, Step.CO_OPINION)):
                if name in properties and step != needs:
                    found.append(_problem(filename, tree, element, name, properties[name],
                                          f"只用于 hall.step={needs} 的步骤 (only on a {needs} step)"))
            department = properties.get(vocabulary.DEPARTMENT)
            if department and step == Step.CO_OPINION and department not in _departments():
                found.append(_problem(filename, tree, element, vocabulary.DEPARTMENT, department,
                                      "不是大厅的部门代码 (unknown department)"))
            if step == Step.CO_OPINION and not department:
                found.append(_problem(filename, tree, element, vocabulary.STEP, Step.CO_OPINION,
                                      "的会办步骤须以 hall.department 写明是哪个部门的意见 (whose opinion)"))
            for name in (vocabulary.MAX_DAYS, vocabulary.SPECIAL_RULE):
                if name in properties and vocabulary.PAUSE not in properties \
                        and properties.get(vocabulary.STEP) != vocabulary.Step.SPECIAL_PROCEDURE:
                    found.append(_problem(filename, tree, element, name, properties[name],
                                          "只用于特别程序（hall.step=special_procedure 或 hall.pause=special）"
                                          " (only on a special procedure)"))
    return found
