"""The declared shape of a matter record, with sizes: what a record may hold and what the public guide serves.

The catalog format (`service.FIELDS`) names every field; a record's nested objects (materials, the result,
special procedures) take only their declared keys; texts and lists have lengths a guide can show. A record may
carry a few further fields of its own (`extra`, shown by the guide as such): at most `MAX_EXTRA` of them, each a
short text, a number, true/false, null or a short list of texts. The guide serves a record through the same
rules (`extra_of`, `materials_of`), so a record stored before these limits is never served as a blob.
"""

from __future__ import annotations

import json
from typing import Any

MAX_RECORD_BYTES = 64 * 1024  # the record as JSON
MAX_TEXT = 5_000  # characters of one text
MAX_ITEMS = 200  # items of one list
MAX_EXTRA = 20  # fields beyond the catalog format
MAX_EXTRA_KEY = 64
MAX_EXTRA_TEXT = 2_000
MAX_EXTRA_LIST = 50
NESTED_KEYS = {
    "materials": ("name", "originals", "copies", "required", "source", "note", "form_url"),
    "result": ("type", "name"),
    "special_procedures": ("name", "max_days", "basis"),
}


def check(record: dict[str, Any], known: set[str], add) -> None:
    """Report (add(field, message)) what goes beyond the declared record's shape and sizes."""
    try:
        size = len(json.dumps(record, ensure_ascii=False))
    except (TypeError, ValueError):
        size = MAX_RECORD_BYTES + 1
    if size > MAX_RECORD_BYTES:
        add("(record)", f"事项记录过大（{size // 1024} KB，上限 {MAX_RECORD_BYTES // 1024} KB）")
    for field, keys in NESTED_KEYS.items():
        value = record.get(field)
        for i, item in enumerate(value if isinstance(value, list) else [value] if isinstance(value, dict) else []):
            if isinstance(item, dict):
                where = f"{field}[{i}]" if isinstance(value, list) else field
                for key in item:
                    if key not in keys:
                        add(f"{where}.{key}", f"{where} 不认识字段 {key}（可用：{'、'.join(keys)}）")
    for field, value in record.items():
        if field in known:
            _sizes(field, value, add)
    extra = [k for k in record if k not in known]
    if len(extra) > MAX_EXTRA:
        add(extra[MAX_EXTRA], f"目录格式之外的字段最多 {MAX_EXTRA} 个，本记录有 {len(extra)} 个")
    for key in extra[:MAX_EXTRA]:
        problem = _extra_problem(key, record[key])
        if problem is not None:
            add(key[:MAX_EXTRA_KEY], problem)


def _sizes(field: str, value: Any, add) -> None:
    if isinstance(value, str) and len(value) > MAX_TEXT:
        add(field, f"{field} 过长（{len(value)} 字，上限 {MAX_TEXT} 字）")
    elif isinstance(value, list):
        if len(value) > MAX_ITEMS:
            add(field, f"{field} 项数过多（{len(value)} 项，上限 {MAX_ITEMS} 项）")
        for i, item in enumerate(value[:MAX_ITEMS]):
            _sizes(f"{field}[{i}]", item, add)
    elif isinstance(value, dict):
        for key, item in value.items():
            _sizes(f"{field}.{key}", item, add)
    elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > 1_000_000:
        add(field, f"{field} 数值超出范围：{value}")


def _extra_problem(key: str, value: Any) -> str | None:
    if len(key) > MAX_EXTRA_KEY:
        return f"字段名 {key[:MAX_EXTRA_KEY]}… 过长（上限 {MAX_EXTRA_KEY} 字）"
    if value is None or isinstance(value, bool | int | float):
        return None
    if isinstance(value, str):
        return None if len(value) <= MAX_EXTRA_TEXT else f"字段 {key} 过长（上限 {MAX_EXTRA_TEXT} 字）"
    if isinstance(value, list):
        if len(value) > MAX_EXTRA_LIST:
            return f"字段 {key} 项数过多（上限 {MAX_EXTRA_LIST} 项）"
        if all(isinstance(item, str) and len(item) <= MAX_EXTRA_TEXT for item in value):
            return None
        return f"字段 {key} 应为文本的列表"
    return f"目录格式之外的字段 {key} 只能是文本、数字、是否或文本的列表，不能是对象"


def extra_of(record: dict[str, Any] | None, known: set[str]) -> dict[str, Any]:
    """The further fields the guide shows: those a record may hold (anything else is left out)."""
    extra = {}
    for key, value in (record or {}).items():
        if key in known or not isinstance(key, str):
            continue
        if len(extra) >= MAX_EXTRA:
            break
        if _extra_problem(key, value) is None:
            extra[key] = value
    return extra


def nested_of(field: str, value: Any) -> Any:
    """A record's materials, result or special procedures as declared: their known keys only."""
    keys = NESTED_KEYS[field]
    if isinstance(value, dict):
        return {k: value[k] for k in keys if k in value}
    if not isinstance(value, list):
        return [] if field != "result" else {}
    return [{k: item[k] for k in keys if k in item} for item in value[:MAX_ITEMS] if isinstance(item, dict)]
