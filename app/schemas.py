"""Marshmallow fields and schemas shared by the API modules."""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate

from .clock import SHANGHAI, as_utc


class LocalDateTime(fields.DateTime):
    """Stored in UTC, shown in Asia/Shanghai; input without an offset is read as Asia/Shanghai time."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        return as_utc(value).astimezone(SHANGHAI).isoformat()

    def _deserialize(self, value, attr, data, **kwargs):
        result = super()._deserialize(value, attr, data, **kwargs)
        if result.tzinfo is None:
            result = result.replace(tzinfo=SHANGHAI)
        return as_utc(result)


class QuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE


class PageArgs(QuerySchema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0))


class ErrorSchema(Schema):
    code = fields.String()
    message = fields.String()
    details = fields.Raw()
