"""Form validation speaks Chinese: per keyword, naming the field's title; a form's own `errorMessage` wins."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from app.forms.service import _field, _message

FORMS = Path(__file__).resolve().parents[2] / "forms"

SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"title": "申请人", "type": "string", "minLength": 2, "maxLength": 5},
        "agree": {"title": "同意", "type": "boolean"},
        "count": {"title": "份数", "type": "integer", "minimum": 1, "maximum": 9},
        "kind": {"title": "类型", "type": "string", "enum": ["a", "b"], "enumNames": ["甲", "乙"]},
        "code": {"title": "编码", "type": "string", "pattern": "^[0-9]+$"},
        "day": {"title": "日期", "type": "string", "format": "date"},
        "items": {"title": "清单", "type": "array", "minItems": 1, "uniqueItems": True},
        "custom": {"title": "自定义", "type": "integer", "errorMessage": {"minimum": "自定义不能为负"}, "minimum": 0},
        "whole": {"title": "整体", "type": "string", "errorMessage": "请按要求填写整体"},
    },
    "required": ["name", "agree", "other"],
    "additionalProperties": False,
    "errorMessage": {"required": {"agree": "请勾选同意"}},
}


def messages(data, schema=SCHEMA) -> dict[str, str]:
    validator = Draft202012Validator(schema, format_checker=FormatChecker())
    return {_field(e): _message(e, schema) for e in validator.iter_errors(data)}


def test_each_keyword_has_a_chinese_message_naming_the_field():
    got = messages({"name": "甲", "count": 10, "kind": "c", "code": "x1", "day": "2026-13-40", "items": [1, 1],
                    "zz": 1, "custom": -1, "whole": 3})
    assert got == {
        "name": "申请人至少 2 个字",
        "count": "份数不能大于 9",
        "kind": "类型应为以下之一：甲（a）、乙（b）",
        "code": "编码格式不正确",
        "day": "日期应为日期，格式 YYYY-MM-DD",
        "items": "清单中有重复项",
        "": "表单含有未定义的字段：zz",
        "agree": "请勾选同意",  # the form's own text for a missing field
        "other": "必填项缺失：other",
        "custom": "自定义不能为负",  # the form's own text for this keyword
        "whole": "请按要求填写整体",  # the field's own text for every error of it
    }
    assert messages({"name": "甲乙丙丁戊己", "agree": "ja", "other": 1})["agree"] == "同意应为是/否（true 或 false）"
    assert messages({"name": "甲乙丙丁戊己", "agree": True, "other": 1})["name"] == "申请人不能超过 5 个字"


@pytest.mark.parametrize("path", sorted(FORMS.glob("*.json")), ids=lambda p: p.stem)
def test_no_english_leaks_from_the_shipped_forms(path):
    schema = json.loads(path.read_text(encoding="utf-8"))
    wrong = {name: {"not": "a value of any type it takes"} for name in schema.get("properties", {})}
    for text in messages(wrong, schema).values():
        assert "is not" not in text and "is a required" not in text and "'" not in text, (path.name, text)
