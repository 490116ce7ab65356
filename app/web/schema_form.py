"""Forms generated on the server from a task's JSON Schema (forms/*.json), and the posted fields read back as the
JSON the API's `complete` takes — validated by the same service (forms.validate_submission), whose field errors
(`details.errors`: `field`, `message`) are shown next to their inputs.

Supported: string (text, textarea with `x-widget: textarea`, `format: date`), enum (select with `enumNames`),
boolean (checkbox), integer and number, arrays of strings (one per line) and arrays of objects (a table of rows,
e.g. the acceptance checklist); anything else is edited as JSON text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

PREFIX = "f."
EXTRA_ROWS = 1  # blank rows below an object list's rows, to add one


@dataclass
class Field:
    name: str  # the data key, or "materials.0.received" inside a list of objects
    key: str  # the property name
    title: str
    kind: str  # text | textarea | date | select | checkbox | integer | number | lines | rows | json
    description: str = ""
    required: bool = False
    options: list[tuple[str, str]] = field(default_factory=list)
    value: Any = None
    errors: list[str] = field(default_factory=list)
    columns: list[Field] = field(default_factory=list)  # rows: the item object's properties
    rows: list[list[Field]] = field(default_factory=list)
    row_required: list[bool] = field(default_factory=list)  # rows: a required material (marked 必需)
    maxlength: int | None = None

    @property
    def input_name(self) -> str:
        return PREFIX + self.name


def _kind(schema: dict) -> str:
    kind = schema.get("type")
    if "enum" in schema:
        return "select"
    if kind == "string":
        if schema.get("format") == "date":
            return "date"
        return "textarea" if schema.get("x-widget") == "textarea" or (schema.get("maxLength") or 0) > 500 else "text"
    if kind == "boolean":
        return "checkbox"
    if kind in ("integer", "number"):
        return kind
    if kind == "array":
        items = schema.get("items") or {}
        if items.get("type") == "string" and "enum" not in items:
            return "lines"
        if items.get("type") == "object" and all(_kind(p) not in ("rows", "json", "lines")
                                                  for p in (items.get("properties") or {}).values()):
            return "rows"
    return "json"


def _one(name: str, key: str, schema: dict, value: Any, required: bool, errors: dict[str, list[str]],
         required_rows: set[str] | None = None) -> Field:
    kind = _kind(schema)
    f = Field(name=name, key=key, title=schema.get("title") or key, kind=kind,
              description=schema.get("description") or "", required=required, value=value,
              errors=errors.get(name, []), maxlength=schema.get("maxLength"))
    if kind == "select":
        labels = schema.get("enumNames") or schema["enum"]
        f.options = [(str(v), str(label)) for v, label in zip(schema["enum"], labels, strict=False)]
    elif kind == "rows":
        items = schema["items"]
        props = items.get("properties") or {}
        need = set(items.get("required") or [])
        f.columns = [_one(f"{name}.#.{k}", k, s, None, k in need, {}) for k, s in props.items()]
        values = value if isinstance(value, list) else []
        for i, row in enumerate([*values, *([{}] * EXTRA_ROWS)]):
            row = row if isinstance(row, dict) else {}
            f.rows.append([_one(f"{name}.{i}.{k}", k, s, row.get(k), k in need, errors) for k, s in props.items()])
            f.row_required.append(row.get("required") is True or str(row.get("name")) in (required_rows or ()))
        # an error about a whole row (e.g. a required property missing from it) shows on the list
        for i in range(len(values)):
            f.errors += errors.get(f"{name}.{i}", [])
    elif kind == "lines" and isinstance(value, list):
        f.value = "\n".join(str(v) for v in value)
    elif kind == "json" and value is not None:
        f.value = json.dumps(value, ensure_ascii=False, indent=2)
    return f


def build(schema: dict | None, values: dict | None = None, errors: dict[str, list[str]] | None = None,
          required_rows: dict[str, set[str]] | None = None) -> list[Field]:
    """The fields of a form, filled with `values`, with the server's errors by field; `required_rows`: per list
    field, the names of the rows to mark as required (the acceptance checklist's required materials)."""
    if not schema:
        return []
    values, errors, required_rows = values or {}, errors or {}, required_rows or {}
    need = set(schema.get("required") or [])
    return [_one(key, key, sub, values.get(key), key in need, errors, required_rows.get(key))
            for key, sub in (schema.get("properties") or {}).items()]


def required_rows(known: dict) -> dict[str, set[str]]:
    """From prefilled values: per list of objects, the names of the rows marked `required` (not a form field)."""
    out: dict[str, set[str]] = {}
    for key, value in known.items():
        if isinstance(value, list):
            names = {str(v.get("name")) for v in value if isinstance(v, dict) and v.get("required") is True}
            if names:
                out[key] = names
    return out


def errors_by_field(problems: list[dict]) -> tuple[dict[str, list[str]], list[str]]:
    """The 422's `details.errors` (field `materials/0/name`) by input name (`materials.0.name`); errors that name
    no field (the form as a whole) separately."""
    by_field: dict[str, list[str]] = {}
    general: list[str] = []
    for problem in problems or []:
        name = (problem.get("field") or "").replace("/", ".")
        if name:
            by_field.setdefault(name, []).append(problem.get("message") or "")
        else:
            general.append(problem.get("message") or "")
    return by_field, general


def unplaced(fields: list[Field], by_field: dict[str, list[str]]) -> list[str]:
    """Errors of fields the form does not show (so they are not lost)."""
    shown = set()
    for f in fields:
        shown.add(f.name)
        for row in f.rows:
            shown.update(c.name for c in row)
        if f.kind == "rows":
            shown.update(k for k in by_field if k.startswith(f.name + "."))
    return [m for k, messages in by_field.items() if k not in shown for m in messages]


def _scalar(schema: dict, raw: str | None, present: bool) -> tuple[bool, Any]:
    """(include?, value) of one posted input."""
    kind = _kind(schema)
    if kind == "checkbox":
        return True, present and raw not in (None, "", "0", "false")
    if raw is None or raw == "":
        return False, None
    if kind == "integer":
        try:
            return True, int(raw)
        except ValueError:
            return True, raw  # the server says what is wrong with it
    if kind == "number":
        try:
            return True, float(raw)
        except ValueError:
            return True, raw
    if kind == "select":
        options = schema.get("enum") or []
        for option in options:
            if str(option) == raw:
                return True, option
        return True, raw
    return True, raw


def read(schema: dict | None, form) -> dict:
    """The data a posted form stands for, typed by the schema; empty inputs are left out."""
    if not schema:
        return {}
    data: dict[str, Any] = {}
    for key, sub in (schema.get("properties") or {}).items():
        name = PREFIX + key
        kind = _kind(sub)
        if kind == "lines":
            lines = [line.strip() for line in (form.get(name) or "").splitlines()]
            lines = [line for line in lines if line]
            if lines:
                data[key] = lines
        elif kind == "rows":
            props = (sub.get("items") or {}).get("properties") or {}
            rows = []
            raw_count = form.get(name + ".__rows") or "0"
            count = int(raw_count) if raw_count.isdigit() else 0  # a tampered count: read no rows, not a 500
            for i in range(min(count, 500)):
                row: dict[str, Any] = {}
                filled = False
                for k, s in props.items():
                    input_name = f"{name}.{i}.{k}"
                    include, value = _scalar(s, form.get(input_name), input_name in form)
                    if _kind(s) == "checkbox":
                        filled = filled or bool(value)
                    elif include:
                        filled = True
                    if include:
                        row[k] = value
                if filled:
                    rows.append(row)
            if rows:
                data[key] = rows
        elif kind == "json":
            raw = (form.get(name) or "").strip()
            if raw:
                try:
                    data[key] = json.loads(raw)
                except ValueError:
                    data[key] = raw
        else:
            include, value = _scalar(sub, form.get(name), name in form)
            if include and not (kind == "checkbox" and not value and key not in (schema.get("required") or [])
                                and name + ".__shown" not in form):
                data[key] = value
    return data
