"""ApiSchema's dump plan gives what marshmallow's own loop gives, for every kind of field and object the API
answers with (the whole suite also compares the two on every answer: tests/conftest.py sets VERIFY_DUMPS)."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from marshmallow import Schema, fields

from app.schemas import ApiSchema, LocalDateTime


class Inner(ApiSchema):
    name = fields.String()
    count = fields.Integer()


def _make(base: type[Schema]) -> Schema:
    class Outer(base):
        text = fields.String()
        number = fields.Integer()
        as_text = fields.Integer(as_string=True)
        flag = fields.Boolean()
        ratio = fields.Float()
        when = LocalDateTime(allow_none=True)
        day = fields.Date()
        raw = fields.Raw()
        mapping = fields.Dict()
        tags = fields.List(fields.String())
        inner = fields.Nested(Inner, allow_none=True)
        inners = fields.List(fields.Nested(Inner))
        renamed = fields.String(data_key="shown", attribute="hidden")
        dotted = fields.String(attribute="inner.name")
        defaulted = fields.String(dump_default="默认")
        method = fields.Method("_method")
        function = fields.Function(lambda obj: "函数")
        constant = fields.Constant("常量")

        def _method(self, obj):
            return "方法"

    return Outer()


OBJECTS = [
    {"text": "办件", "number": 3, "as_text": 4, "flag": True, "ratio": 0.5, "when": dt.datetime(2026, 12, 7, 1, tzinfo=dt.UTC),
     "day": dt.date(2026, 12, 7), "raw": {"a": [1]}, "mapping": {"k": "v"}, "tags": ["甲", "乙"],
     "inner": {"name": "内", "count": 1}, "inners": [{"name": "一", "count": "2"}], "hidden": "藏",
     "defaulted": None},
    {"text": 12, "number": "7", "as_text": None, "flag": 0, "ratio": None, "when": None, "tags": [],
     "inner": None, "inners": []},  # conversions, Nones and missing keys
    {},
    SimpleNamespace(text=b"bytes", number=5.9, flag="true", inner=SimpleNamespace(name="对象", count=2), inners=[],
                    hidden=None, day=None, mapping=None, tags=None),
    {"items": "a dict's own key, not its method", "text": None, "number": None},
]


@pytest.mark.parametrize("obj", OBJECTS, ids=range(len(OBJECTS)))
def test_the_plan_dumps_what_marshmallow_dumps(obj):
    assert _make(ApiSchema).dump(obj) == _make(Schema).dump(obj)
    assert _make(ApiSchema).dump([obj, obj], many=True) == _make(Schema).dump([obj, obj], many=True)


def test_a_schema_with_only_and_exclude_keeps_to_them():
    class Both(ApiSchema):
        a = fields.String()
        b = fields.Integer()

    assert Both(only=("a",)).dump({"a": "x", "b": 1}) == {"a": "x"}
    assert Both(exclude=("a",)).dump({"a": "x", "b": 1}) == {"b": 1}
