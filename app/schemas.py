"""Marshmallow fields and schemas shared by the API modules."""

from __future__ import annotations

import re
from typing import Any

from marshmallow import RAISE, Schema, fields, missing, validate
from marshmallow.utils import ensure_text_type

from .clock import SHANGHAI, as_utc

EARLIEST, LATEST = 1900, 9000  # the years a date or time given to the API may have


def _out_of_range(year: int) -> bool:
    return not EARLIEST <= year <= LATEST


# -- answers -------------------------------------------------------------------------------------------------------
_PLAIN_GET, _PLAIN_SERIALIZE, _PLAIN_ACCESS = fields.Field.get_value, fields.Field.serialize, Schema.get_attribute
VERIFY_DUMPS = False  # the tests set it: every answer is also dumped by marshmallow's own loop and compared


class ApiSchema(Schema):
    """marshmallow's Schema, dumping with a plan made once per schema instance: a list of 50 cases is ~2,000
    field values, and marshmallow's own loop spends most of a list's Python time getting each value through four
    calls. A field whose type reads or writes its value its own way (Method, Function, a dotted attribute, a
    schema with its own get_attribute) goes through marshmallow as before; hooks (pre/post dump) are untouched."""

    def _serialize(self, obj: Any, *, many: bool = False):
        if many and obj is not None:
            return [self._serialize(each) for each in obj]
        result = self._dump_one(obj)
        if VERIFY_DUMPS:
            expected = super()._serialize(obj)
            assert result == expected, f"{type(self).__name__}: {result!r} != {expected!r}"
        return result

    def _dump_plan(self) -> list[tuple]:
        plan = self.__dict__.get("_plan")
        if plan is None:
            plan = []
            plain_access = type(self).get_attribute is _PLAIN_ACCESS
            for name, field in self.dump_fields.items():
                kind = type(field)
                attr = field.attribute if field.attribute is not None else name
                direct = plain_access and field._CHECK_ATTRIBUTE and "." not in attr \
                    and kind.serialize is _PLAIN_SERIALIZE and kind.get_value is _PLAIN_GET
                simple = 1 if kind is fields.String else 2 if kind is fields.Integer and not field.as_string else 0
                plan.append((field.data_key if field.data_key is not None else name, name, attr, field, direct, simple))
            self.__dict__["_plan"] = plan
        return plan

    def _dump_one(self, obj: Any) -> dict:
        result = self.dict_class()
        indexable = hasattr(obj, "__getitem__")
        for key, name, attr, field, direct, simple in self._dump_plan():
            if not direct:
                value = field.serialize(name, obj, accessor=self.get_attribute)
                if value is not missing:
                    result[key] = value
                continue
            if indexable:  # as marshmallow.utils.get_value: an item first, else an attribute
                try:
                    value = obj[attr]
                except (KeyError, IndexError, TypeError, AttributeError):
                    value = getattr(obj, attr, missing)
            else:
                value = getattr(obj, attr, missing)
            if value is missing:
                default = field.dump_default
                value = default() if callable(default) else default
                if value is missing:
                    continue
            if simple == 1:  # fields.String._serialize
                result[key] = value if type(value) is str or value is None else ensure_text_type(value)
            elif simple == 2:  # fields.Integer._serialize
                result[key] = value if type(value) is int or value is None else int(value)
            else:
                result[key] = field._serialize(value, name, obj)
        return result


class LocalDateTime(fields.DateTime):
    """Stored in UTC, shown in Asia/Shanghai; input without an offset is read as Asia/Shanghai time.

    Input is a time between the years 1900 and 9000 (422 otherwise, at the door); output never fails: a stored
    time that Asia/Shanghai cannot show (past 9999-12-31 16:00 UTC) is shown in UTC."""

    default_error_messages = {"range": f"时间超出允许范围（{EARLIEST} 至 {LATEST} 年）(time out of range)"}

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        value = as_utc(value)
        try:
            return value.astimezone(SHANGHAI).isoformat()
        except OverflowError:
            return value.isoformat()

    def _deserialize(self, value, attr, data, **kwargs):
        result = super()._deserialize(value, attr, data, **kwargs)
        if _out_of_range(result.year):
            raise self.make_error("range")
        if result.tzinfo is None:
            result = result.replace(tzinfo=SHANGHAI)
        return as_utc(result)


class BusinessKey(fields.String):
    """A business key as the caller's system knows it: surrounding spaces dropped (` CS-1` is `CS-1`, so the
    one-open-case rule cannot be dodged), never blank, at most 200 characters, no control characters."""

    default_error_messages = {"blank": "业务号不能为空白 (business key is blank)",
                              "too_long": "业务号不能超过 200 个字符 (business key too long)",
                              "control": "业务号不能含控制字符 (control characters in business key)"}

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if not text:
            raise self.make_error("blank")
        if len(text) > 200:
            raise self.make_error("too_long")
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
            raise self.make_error("control")
        return text


def attributes(obj, schema: type[Schema]) -> dict:
    """The object's attributes that a response schema shows (by the class's declared fields: no instance)."""
    return {name: getattr(obj, name) for name in schema._declared_fields}


class IsoDate(fields.Date):
    """A calendar date written exactly YYYY-MM-DD (no `20261010`, no times); errors in Chinese."""

    default_error_messages = {"invalid": "日期格式错误，应为 YYYY-MM-DD（例如 2026-10-10）",
                              "range": f"日期超出允许范围（{EARLIEST} 至 {LATEST} 年）(date out of range)"}

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise self.make_error("invalid")
        result = super()._deserialize(value, attr, data, **kwargs)
        if _out_of_range(result.year):
            raise self.make_error("range")
        return result


class QuerySchema(ApiSchema):
    """Query parameters. An unknown one is refused before the schema sees it (blueprint.refuse_unknown_query: 400)."""

    class Meta:
        unknown = RAISE


MAX_OFFSET = 10_000_000  # far past any real list; keeps numbers inside what the databases can bind


class PageArgs(QuerySchema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=MAX_OFFSET))


class ErrorSchema(ApiSchema):
    """Every error answer: a machine code, a Chinese message for the clerk, and what it concerns."""

    class Meta:
        name = "Error"

    code = fields.String(required=True, metadata={
        "description": "bad_request | unauthorized | token_expired | forbidden | not_found | conflict | invalid | "
                       "case_failed | absence_overlap | ...", "example": "not_found"})
    message = fields.String(required=True, metadata={"description": "中文说明 (English in parentheses where useful)",
                                                     "example": "办件 4f1c... 不存在"})
    details = fields.Raw(required=True, metadata={
        "description": "what the error concerns; invalid data: the field errors (`errors` or per-field lists)",
        "example": {"instance_id": "4f1c..."}})
