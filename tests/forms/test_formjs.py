"""form-js documents as JSON Schema: every kind of component, layout groups, nested paths, and what is left out."""

from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from app.errors import Invalid
from app.forms.formjs import to_schema


def _errors(schema: dict, data: dict) -> dict[str, str]:
    validator = Draft202012Validator(schema, format_checker=FormatChecker())
    return {"/".join(str(p) for p in e.absolute_path) or e.validator: e.validator for e in validator.iter_errors(data)}


DOCUMENT = {"type": "default", "id": "f", "components": [
    {"type": "text", "text": "# 标题"},
    {"type": "spacer"},
    {"type": "button", "action": "submit", "label": "提交"},
    {"type": "group", "label": "布局分组", "components": [  # no path: its fields belong to the form itself
        {"type": "textfield", "key": "phone", "label": "电话", "validate": {"validationType": "phone"}},
        {"type": "datetime", "key": "meet_at", "subtype": "datetime", "dateLabel": "日期", "timeLabel": "时间"},
        {"type": "datetime", "key": "open_time", "subtype": "time", "timeLabel": "开门时间"},
    ]},
    {"type": "group", "label": "法人", "path": "legal", "components": [
        {"type": "textfield", "key": "name", "label": "姓名", "validate": {"required": True}},
    ]},
    {"type": "dynamiclist", "label": "股东", "path": "holders", "components": [
        {"type": "number", "key": "share", "label": "持股", "decimalDigits": 0, "validate": {"min": 1, "max": 100}},
    ]},
    {"type": "textfield", "key": "address.city", "label": "城市", "validate": {"required": True}},
    {"type": "select", "key": "dynamic", "label": "来自数据的选项", "valuesKey": "options"},
    {"type": "textfield", "key": "hidden_when", "label": "条件显示", "validate": {"required": True},
     "conditional": {"hide": "=x"}},
    {"type": "textfield", "key": "shown", "label": "只读", "readonly": True, "validate": {"required": True}},
    {"type": "filepicker", "key": "file", "label": "附件"},
    {"type": "my-custom", "key": "custom"},
]}


def test_every_component_kind_becomes_a_rule_and_layout_is_left_out():
    schema = to_schema(DOCUMENT, "f.form")
    assert set(schema["properties"]) == {"phone", "meet_at", "open_time", "legal", "holders", "address", "dynamic",
                                         "hidden_when", "shown"}
    assert schema["required"] == ["address"]  # a conditional or read-only field is never required
    assert schema["properties"]["address"]["required"] == ["city"]
    assert schema["x-form-js"] is DOCUMENT
    good = {"phone": "0510-85231234", "meet_at": "2026-11-25T09:30+08:00", "open_time": "08:30",
            "legal": {"name": "张三"}, "holders": [{"share": 60}, {"share": 40}], "address": {"city": "无锡"},
            "dynamic": "anything", "hidden_when": None, "shown": ""}
    assert _errors(schema, good) == {}
    bad = {**good, "phone": "call me", "meet_at": "tomorrow", "open_time": "8点", "legal": {"name": ""},
           "holders": [{"share": 0}, {"share": 1.5}], "address": {}}
    assert _errors(schema, bad) == {"phone": "pattern", "meet_at": "pattern", "open_time": "pattern",
                                    "legal/name": "minLength", "holders/0/share": "minimum",
                                    "holders/1/share": "type", "address": "required"}


def test_empty_optional_fields_are_valid_and_required_ones_are_not():
    document = {"type": "default", "components": [
        {"type": "number", "key": "n", "label": "数量", "validate": {"required": True}},
        {"type": "number", "key": "m", "label": "可选数量", "validate": {"min": 3}},
        {"type": "textfield", "key": "t", "label": "可选文本", "validate": {"minLength": 4, "pattern": "^A"}},
        {"type": "radio", "key": "r", "label": "可选单选", "values": [{"label": "甲", "value": "a"}]},
        {"type": "checklist", "key": "c", "label": "可选多选", "values": [{"label": "甲", "value": "a"}]},
    ]}
    schema = to_schema(document, "x.form")
    assert _errors(schema, {"n": 1, "m": None, "t": "", "r": None, "c": []}) == {}
    assert _errors(schema, {"n": None, "m": 2, "t": "Ab", "r": "b", "c": ["b"]}) == {
        "n": "type", "m": "minimum", "t": "minLength", "r": "enum", "c/0": "enum"}


def test_a_file_that_is_not_a_form_js_document_is_refused():
    with pytest.raises(Invalid) as refused:
        to_schema({"type": "object", "properties": {}}, "x.form")
    assert "x.form" in refused.value.message
