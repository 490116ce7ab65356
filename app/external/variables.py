"""Camunda's typed variable values (`{"value": ..., "type": "String", "valueInfo": {...}}`) to and from case data.

Case data is JSON; what a worker sends is read into JSON values by its declared type (or, with no type, taken
as the JSON it is, as Camunda does), and refused with the variable named when it does not fit. Case data goes
out with the type Camunda would give it: strings `String`, booleans `Boolean`, whole numbers `Integer` (or
`Long` past 32 bits), other numbers `Double`, null `Null`, objects and arrays `Json` (their JSON text, as
Camunda's REST API sends Spin JSON values).
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Any

from ..clock import SHANGHAI
from ..errors import Invalid

_INT_RANGES = {"short": (-(2 ** 15), 2 ** 15 - 1), "integer": (-(2 ** 31), 2 ** 31 - 1),
               "long": (-(2 ** 63), 2 ** 63 - 1)}
_NOT_STORED = {"bytes", "file"}


def read(variables: Any, field: str = "variables") -> dict[str, Any]:
    """`{name: typed value}` → `{name: JSON value}`; 422 naming the variable for anything that does not fit."""
    if variables is None:
        return {}
    if not isinstance(variables, dict):
        raise Invalid(f"{field} 须为对象：{{变量名: {{value, type}}}}", {field: "not an object"})
    result = {}
    for name, typed in variables.items():
        if not isinstance(name, str) or not name.strip():
            raise Invalid(f"{field} 中的变量名不能为空", {field: name})
        if not isinstance(typed, dict):
            raise Invalid(f"变量 {name} 须为 {{\"value\": ..., \"type\": ...}}", {field: {name: "not a typed value"}})
        result[name] = _value(name, typed, field)
    return result


def _refuse(name: str, field: str, kind: str, value: Any) -> Invalid:
    return Invalid(f"变量 {name} 的值 {value!r} 不是 {kind} 类型", {field: {name: f"not a {kind}"}})


def _value(name: str, typed: dict, field: str) -> Any:
    value = typed.get("value")
    kind = typed.get("type")
    if kind is None:
        return _plain(name, value, field)
    if not isinstance(kind, str):
        raise Invalid(f"变量 {name} 的 type 须为字符串", {field: {name: "bad type"}})
    lowered = kind.lower()
    if value is None or lowered == "null":
        return None
    if lowered == "string":
        if not isinstance(value, str):
            raise _refuse(name, field, kind, value)
        return value
    if lowered in _INT_RANGES:
        number = _integer(value)
        low, high = _INT_RANGES[lowered]
        if number is None or not low <= number <= high:
            raise _refuse(name, field, kind, value)
        return number
    if lowered == "double":
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise _refuse(name, field, kind, value)
        try:
            number = float(value)
        except ValueError:
            raise _refuse(name, field, kind, value) from None
        if not math.isfinite(number):
            raise _refuse(name, field, kind, value)
        return number
    if lowered == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise _refuse(name, field, kind, value)
    if lowered in ("json", "object"):
        if lowered == "object":
            data_format = (typed.get("valueInfo") or {}).get("serializationDataFormat", "application/json")
            if data_format != "application/json":
                raise Invalid(f"变量 {name}：只接受 JSON 序列化的对象 (serializationDataFormat {data_format})",
                              {field: {name: "unsupported serialization"}})
        if isinstance(value, str):
            try:
                return json.loads(value, parse_constant=_no_constant)
            except ValueError:
                raise Invalid(f"变量 {name} 不是有效的 JSON", {field: {name: "invalid JSON"}}) from None
        return _plain(name, value, field)
    if lowered == "date":
        if not isinstance(value, str):
            raise _refuse(name, field, kind, value)
        moment = _date(value)
        if moment is None:
            raise Invalid(f"变量 {name} 的日期 {value!r} 无法识别 (yyyy-MM-dd'T'HH:mm:ss.SSSZ)",
                          {field: {name: "invalid date"}})
        return moment.isoformat()
    if lowered in _NOT_STORED:
        raise Invalid(f"变量 {name}：办件数据不保存二进制内容（{kind}），请存放文件后传递其地址",
                      {field: {name: f"{kind} not stored"}})
    raise Invalid(f"变量 {name} 的类型 {kind} 不受支持", {field: {name: f"unknown type {kind}"}})


def _no_constant(text: str):
    raise ValueError(text)


def _plain(name: str, value: Any, field: str) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        raise Invalid(f"变量 {name} 的值不是有限数", {field: {name: "not finite"}})
    return value


def _integer(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


def _date(text: str) -> datetime | None:
    candidate = text.strip()
    if len(candidate) > 5 and candidate[-5] in "+-" and candidate[-4:].isdigit() and candidate[-3] != ":":
        candidate = f"{candidate[:-2]}:{candidate[-2:]}"  # Camunda's +0800 → +08:00
    try:
        moment = datetime.fromisoformat(candidate.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=SHANGHAI)


def typed(value: Any) -> dict[str, Any]:
    """A case data value as Camunda's REST API sends it."""
    if value is None:
        return {"type": "Null", "value": None, "valueInfo": {}}
    if isinstance(value, bool):
        return {"type": "Boolean", "value": value, "valueInfo": {}}
    if isinstance(value, int):
        low, high = _INT_RANGES["integer"]
        return {"type": "Integer" if low <= value <= high else "Long", "value": value, "valueInfo": {}}
    if isinstance(value, float):
        return {"type": "Double", "value": value, "valueInfo": {}}
    if isinstance(value, str):
        return {"type": "String", "value": value, "valueInfo": {}}
    return {"type": "Json", "value": json.dumps(value, ensure_ascii=False), "valueInfo": {}}


def typed_all(data: dict[str, Any], names: list[str] | None = None) -> dict[str, dict]:
    """The case data (or the names asked for, those it has) as typed values."""
    keys = data.keys() if names is None else [n for n in names if n in data]
    return {name: typed(data[name]) for name in keys}


def camunda_time(moment: datetime | None) -> str | None:
    """Camunda's date format, in Asia/Shanghai: 2026-11-25T09:00:00.000+0800."""
    if moment is None:
        return None
    local = moment.astimezone(SHANGHAI)
    return local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond // 1000:03d}" + local.strftime("%z")
