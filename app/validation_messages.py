"""The API's field errors in Chinese: marshmallow's default messages (which webargs returns in `details`),
set once through its documented class attributes, each with the English kept in brackets for integrators."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

_FIELDS: dict[type, dict[str, str]] = {
    fields.Field: {"required": "缺少必填字段 (missing data for required field)",
                   "null": "不能为空值 (field may not be null)", "validator_failed": "值无效 (invalid value)"},
    fields.String: {"invalid": "应为文本 (not a valid string)", "invalid_utf8": "不是有效的 UTF-8 文本 (not valid utf-8)"},
    fields.Integer: {"invalid": "应为整数 (not a valid integer)"},
    fields.Number: {"invalid": "应为数字 (not a valid number)", "too_large": "数值过大 (number too large)"},
    fields.Float: {"special": "不允许 NaN 或无穷大 (special numeric values are not permitted)"},
    fields.Boolean: {"invalid": "应为布尔值 true 或 false (not a valid boolean)"},
    fields.List: {"invalid": "应为列表 (not a valid list)"},
    fields.Tuple: {"invalid": "应为列表 (not a valid tuple)"},
    fields.Mapping: {"invalid": "应为对象 (not a valid mapping)"},
    fields.Nested: {"type": "应为对象 (invalid type)"},
    fields.Date: {"invalid": "日期格式错误，应为 YYYY-MM-DD (not a valid date)",
                  "format": "无法格式化为日期 (cannot be formatted as a date)"},
    fields.DateTime: {"invalid": "日期时间格式错误，应为 ISO 8601，如 2026-10-10T09:00:00+08:00 (not a valid datetime)",
                      "invalid_awareness": "日期时间的时区信息不符合要求 (not a valid datetime awareness)",
                      "format": "无法格式化为日期时间 (cannot be formatted as a datetime)"},
    fields.Email: {"invalid": "不是有效的电子邮箱 (not a valid email address)"},
    fields.URL: {"invalid": "不是有效的网址 (not a valid URL)"},
    fields.UUID: {"invalid_uuid": "不是有效的 UUID (not a valid UUID)"},
    fields.Enum: {"unknown": "应为以下之一：{choices} (must be one of)"},
}


def install() -> None:
    """Idempotent; called when the app is created (the schemas' messages are read at validation time)."""
    for field, messages in _FIELDS.items():
        field.default_error_messages = {**field.default_error_messages, **messages}
    Schema._default_error_messages = {"type": "应为 JSON 对象 (invalid input type)",
                                      "unknown": "未知字段 (unknown field)"}
    validate.OneOf.default_message = "应为以下之一：{choices} (must be one of)"
    validate.Regexp.default_message = "格式不正确 (does not match the expected pattern)"
    validate.Equal.default_message = "应等于 {other} (must be equal)"
    validate.NoneOf.default_message = "值无效 (invalid input)"
    validate.ContainsOnly.default_message = "含有不在可选项 {choices} 中的值 (a choice is not allowed)"
    validate.Length.message_min = "长度不能少于 {min} (shorter than minimum length)"
    validate.Length.message_max = "长度不能超过 {max} (longer than maximum length)"
    validate.Length.message_all = "长度应在 {min} 至 {max} 之间 (length out of range)"
    validate.Length.message_equal = "长度应为 {equal} (length must be equal)"
    validate.Range.message_min = "应{min_op} {{min}} (out of range)"
    validate.Range.message_max = "应{max_op} {{max}} (out of range)"
    validate.Range.message_all = "应{min_op} {{min}} 且{max_op} {{max}} (out of range)"
    validate.Range.message_gte, validate.Range.message_gt = "大于或等于", "大于"
    validate.Range.message_lte, validate.Range.message_lt = "小于或等于", "小于"
