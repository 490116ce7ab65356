"""form-js (Camunda Forms) documents as JSON Schema, so that the server validates what such a form submits.

Camunda Modeler's form editor writes `.form` files: `{"type": "default", "id": ..., "components": [...]}`. Each
input component binds a `key` of the task's data; `validate` holds its rules. They become the task's JSON Schema:

| form-js | JSON Schema |
|---|---|
| textfield, textarea | string; `minLength`, `maxLength`, `pattern`; validationType email → format email, phone → pattern |
| number | number (integer when `decimalDigits` is 0); `min`, `max` → minimum, maximum |
| checkbox | boolean; required → must be checked |
| radio, select | one of the static `values` (any value when the options come from data) |
| checklist, taglist | a list of distinct static `values`; required → at least one |
| datetime | a date (format date), a time or a date-time (patterns of what form-js writes), by `subtype` |
| group (with `path`), dynamiclist | a nested object, a list of objects |
| text, html, image, spacer, separator, button, table, iframe, expression | nothing: not submitted |

A field with a `conditional` (hidden by a FEEL condition the server does not evaluate) or `readonly`/`disabled` is
never required. The form-js document itself is kept beside the schema (`x-form-js`) for the task page to render.
"""

from __future__ import annotations

from typing import Any

from ..errors import Invalid

FORM_JS_KEY = "x-form-js"
NOT_SUBMITTED = {"text", "html", "image", "spacer", "separator", "button", "table", "iframe", "expression",
                 "documentPreview", "filepicker"}
PHONE_PATTERN = r"^\+?[0-9][0-9 \-]{4,19}$"
# form-js writes dates as YYYY-MM-DD, times as HH:mm with an optional offset, date-times as both joined by T
TIME = r"\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?"
DATE_PATTERNS = {"time": f"^{TIME}$", "datetime": f"^\\d{{4}}-\\d{{2}}-\\d{{2}}T{TIME}$"}


def is_form_js(document: Any) -> bool:
    return isinstance(document, dict) and isinstance(document.get("components"), list) \
        and "properties" not in document


def to_schema(document: dict, filename: str) -> dict:
    """The JSON Schema of a form-js document (422 naming the file and the component when it cannot be read)."""
    if not is_form_js(document):
        raise Invalid(f"{filename} 不是 form-js 表单（缺少 components）", {"file": filename})
    schema = _object(document["components"], filename)
    if document.get("title") or document.get("name"):
        schema["title"] = document.get("title") or document.get("name")
    schema[FORM_JS_KEY] = document
    return schema


def _object(components: list, filename: str) -> dict:
    properties: dict[str, Any] = {}
    required: list[str] = []
    _add(components, properties, required, filename)
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return schema


def _add(components: list, properties: dict, required: list, filename: str) -> None:
    for component in components:
        if not isinstance(component, dict):
            raise Invalid(f"{filename}: 表单组件格式不正确", {"file": filename})
        kind = component.get("type")
        if kind in NOT_SUBMITTED:
            continue
        if kind == "group" and not component.get("path"):  # a layout group: its fields are the parent's
            _add(component.get("components") or [], properties, required, filename)
            continue
        key = component.get("path") if kind in ("group", "dynamiclist") else component.get("key")
        if not isinstance(key, str) or not key.strip():
            continue  # a component that binds no data
        schema, must = _field(component, kind, filename)
        if schema is None:
            continue
        _place(properties, required, key.strip(), schema, must)


def _place(properties: dict, required: list, key: str, schema: dict, must: bool) -> None:
    """A field at its key; a dotted key (`applicant.name`) nests objects."""
    head, _, rest = key.partition(".")
    if not rest:
        properties[head] = schema
        if must and head not in required:
            required.append(head)
        return
    holder = properties.setdefault(head, {"type": "object", "properties": {}})
    holder.setdefault("properties", {})
    inner_required = holder.setdefault("required", [])
    _place(holder["properties"], inner_required, rest, schema, must)
    if not inner_required:
        holder.pop("required")
    elif head not in required:  # a required field needs the object that holds it
        required.append(head)


def _options(component: dict) -> list | None:
    values = component.get("values")
    if isinstance(values, list) and values and not component.get("valuesKey") \
            and not component.get("valuesExpression"):
        return [v.get("value") for v in values if isinstance(v, dict) and "value" in v]
    return None


def _field(component: dict, kind: str | None, filename: str) -> tuple[dict | None, bool]:
    """(the field's schema, whether it is required). form-js submits every field it shows, an empty one as "" or
    null: a field's rules apply to a value that was given; `required` is what asks for one."""
    validate = component.get("validate") if isinstance(component.get("validate"), dict) else {}
    label = str(component.get("label") or component.get("dateLabel") or component.get("timeLabel")
                or component.get("key") or component.get("path") or "")
    optional = bool(component.get("conditional")) or bool(component.get("readonly")) \
        or bool(component.get("disabled"))
    must = bool(validate.get("required")) and not optional
    options = _options(component)
    base: str | None  # the JSON type of a given value
    rules: dict[str, Any] = {}  # what a given value must satisfy
    if kind in ("textfield", "textarea", None):
        base = "string"
        _copy(validate, rules, {"minLength": "minLength", "maxLength": "maxLength"}, int)
        if isinstance(validate.get("pattern"), str) and validate["pattern"]:
            rules["pattern"] = validate["pattern"]
        if validate.get("validationType") == "email":
            rules["format"] = "email"
        elif validate.get("validationType") == "phone":
            rules["pattern"] = PHONE_PATTERN
        if must:
            rules["minLength"] = max(1, rules.get("minLength", 1))
    elif kind == "number":
        base = "integer" if component.get("decimalDigits") == 0 else "number"
        _copy(validate, rules, {"min": "minimum", "max": "maximum"}, float)
    elif kind == "checkbox":
        base = "boolean"
        if must:
            rules = {"const": True, "errorMessage": {"const": f"请勾选{label}"}}
    elif kind in ("radio", "select"):
        base = None
        if options:
            rules = {"enum": options, "enumNames": [v.get("label") for v in component["values"] if "value" in v]}
    elif kind in ("checklist", "taglist"):
        base = "array"
        rules = {"items": {"enum": options} if options else {}, "uniqueItems": True}
        if must:
            rules["minItems"] = 1
    elif kind == "datetime":
        base = "string"
        subtype = component.get("subtype") or "date"
        rules = {"format": "date"} if subtype not in DATE_PATTERNS else {"pattern": DATE_PATTERNS[subtype]}
    elif kind == "group":
        return {**_object(component.get("components") or [], filename), "title": label}, False
    elif kind == "dynamiclist":
        return {"type": "array", "items": _object(component.get("components") or [], filename), "title": label}, False
    else:
        return None, False  # an unknown kind (a custom component): its value is not checked
    schema: dict[str, Any] = {"title": label} if label else {}
    if must:
        schema.update({"type": base} if base else {}, **rules)
    else:  # empty ("" or null) is fine; the rules hold for a value that was given
        if base:
            schema["type"] = [base, "null"]
        if rules:
            given = {"type": "string", "minLength": 1} if base == "string" else {"not": {"type": "null"}}
            schema["if"], schema["then"] = given, {**schema_title(label), **rules}
    if component.get("readonly"):
        schema["readOnly"] = True
    if must and base in ("number", "integer"):
        schema["errorMessage"] = {"type": f"请填写{label}"}
    return schema, must


def schema_title(label: str) -> dict:
    return {"title": label} if label else {}


def _copy(validate: dict, schema: dict, names: dict[str, str], cast) -> None:
    for source, target in names.items():
        value = validate.get(source)
        if value is None or value == "":
            continue
        try:
            number = cast(value)
        except (TypeError, ValueError):
            continue
        schema[target] = int(number) if isinstance(number, float) and number.is_integer() else number
