"""Task forms: JSON Schema documents, deployed from forms/ and by API, used to validate submitted data."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError

from ..caches import app_cache, bump_generation, shared_generation
from ..clock import now
from ..errors import Invalid, NotFound
from ..extensions import db
from . import formjs
from .models import Form

GENERATION = "forms"  # bumped by every deployment: each process asks for a key's latest version again


def _validators() -> dict[int, Draft202012Validator]:
    """This app's compiled validators by form id."""
    return app_cache("forms.validators", dict)


def _latest() -> dict[str, tuple[int, int | None, int | None]]:
    """The latest version of each form key (generation, form id, version): completing a task then costs no
    query for its form. Another process's deployment is seen at once (the shared generation)."""
    return app_cache("forms.latest", dict)


def _checksum(schema: dict) -> str:
    return hashlib.sha256(json.dumps(schema, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def latest(key: str) -> Form | None:
    return db.session.scalar(db.select(Form).where(Form.key == key).order_by(Form.version.desc()).limit(1))


def get_latest_or_404(key: str) -> Form:
    form = latest(key)
    if form is None:
        raise NotFound(f"表单 {key} 不存在", {"form_key": key})
    return form


def deploy(key: str, schema: Any, actor: str | None, filename: str | None = None) -> tuple[Form, bool]:
    """Store a form version; the same schema again returns the existing version (created=False)."""
    if not isinstance(schema, dict):
        raise Invalid("表单必须是 JSON 对象 (a JSON Schema object)", {"file": filename or key})
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        raise Invalid(f"表单不是有效的 JSON Schema: {exc.message}",
                      {"file": filename or key, "path": "/".join(str(p) for p in exc.path)}) from None
    current = latest(key)
    checksum = _checksum(schema)
    if current is not None and current.checksum == checksum:
        return current, False
    form = Form(key=key, version=(current.version + 1) if current else 1, schema=schema, checksum=checksum,
                deployed_at=now(), deployed_by=actor)
    db.session.add(form)
    db.session.flush()
    bump_generation(GENERATION)
    _latest().pop(key, None)
    return form, True


UI_SCHEMA_KEY = "x-ui-schema"  # a SpiffWorkflow form's `-uischema.json`, kept beside its schema for the page
FORM_FILE_SUFFIXES = (".json", ".form")


def form_keys(name: str) -> list[str]:
    """The keys an uploaded form file is deployed under (without reading it): `<key>.json`; SpiffWorkflow's
    `<key>-schema.json`; a form-js `<name>.form` under its file name (and its `id`, once read)."""
    base = name.rsplit("/", 1)[-1]
    if base.endswith(".form"):
        return [base]
    if base.endswith("-schema.json") and not base.endswith("-uischema.json"):
        return [base[: -len("-schema.json")]]
    return [base[:-5]]


def _read_json(name: str, content: bytes) -> Any:
    try:
        return json.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Invalid(f"表单文件不是有效 JSON: {exc}", {"file": name}) from None


def deploy_upload(name: str, content: bytes, actor: str | None,
                  ui_schema: bytes | None = None) -> list[tuple[Form, bool]]:
    """One uploaded form file: a JSON Schema (`<key>.json`), SpiffWorkflow's `<key>-schema.json` with its optional
    `<key>-uischema.json`, or a form-js `.form` made in Camunda Modeler's form editor, converted to the task's
    JSON Schema (formjs.py) and deployed under its file name and its form id (`camunda:formRef`)."""
    base = name.rsplit("/", 1)[-1]
    if not base.endswith(FORM_FILE_SUFFIXES) or base.endswith("-uischema.json"):
        raise Invalid("表单文件名须为 <表单键>.json、<表单键>-schema.json 或 <名称>.form", {"file": name})
    document = _read_json(name, content)
    keys = form_keys(name)
    if base.endswith(".form"):
        schema = formjs.to_schema(document, name)
        form_id = document.get("id")
        if isinstance(form_id, str) and form_id.strip() and form_id.strip() not in keys:
            keys.append(form_id.strip())
    else:
        schema = document
        if ui_schema is not None:
            ui = _read_json(name.replace("-schema.json", "-uischema.json"), ui_schema)
            if not isinstance(schema, dict) or not isinstance(ui, dict):
                raise Invalid("表单及其界面定义必须是 JSON 对象", {"file": name})
            schema = {**schema, UI_SCHEMA_KEY: ui}
    return [deploy(key, schema, actor, filename=name) for key in keys]


def deploy_file(name: str, content: bytes, actor: str | None) -> tuple[Form, bool]:
    """One uploaded form file (see `deploy_upload`); its first key."""
    return deploy_upload(name, content, actor)[0]


def deploy_directory(directory: str | Path, actor: str | None = "system") -> list[tuple[Form, bool]]:
    results = []
    for path in sorted(Path(directory).rglob("*.json")):
        key = path.relative_to(directory).with_suffix("").as_posix()
        try:
            schema = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise Invalid(f"表单文件不是有效 JSON: {exc.msg}", {"file": str(path), "line": exc.lineno}) from None
        results.append(deploy(key, schema, actor, filename=str(path)))
    return results


def _validator(form: Form) -> Draft202012Validator:
    validators = _validators()
    validator = validators.get(form.id)
    if validator is None:
        validator = Draft202012Validator(form.schema, format_checker=FormatChecker())
        validators[form.id] = validator
    return validator


def _validator_for_key(form_key: str) -> tuple[Draft202012Validator | None, int | None]:
    latest_forms, validators = _latest(), _validators()
    generation = shared_generation(GENERATION)
    cached = latest_forms.get(form_key)
    if cached and cached[0] == generation and (cached[1] is None or cached[1] in validators):
        return (validators[cached[1]] if cached[1] is not None else None), cached[2]
    form = latest(form_key)
    latest_forms[form_key] = (generation, form.id if form else None, form.version if form else None)
    return (_validator(form) if form else None), (form.version if form else None)


def forget_cached() -> None:
    _validators().clear()
    _latest().clear()


def validate_submission(form_key: str | None, data: dict[str, Any]) -> None:
    """Raise 422 with every field error when data does not satisfy the task's form."""
    if not form_key:
        return
    validator, version = _validator_for_key(form_key)
    if validator is None:
        return
    _check(validator, data, form_key, version)


def validate_form(form: Form, data: dict[str, Any]) -> None:
    """Like `validate_submission`, against one given version of a form (a task bound to it)."""
    _check(_validator(form), data, form.key, form.version)


def _check(validator: Draft202012Validator, data: dict[str, Any], key: str, version: int | None) -> None:
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        fields = [{"field": _field(e), "message": _message(e, validator.schema)} for e in errors]
        raise Invalid("表单数据不符合要求", {"form": key, "version": version, "errors": fields})


def validate_against(schema: dict, data: dict[str, Any], name: str) -> None:
    """Like `validate_submission`, for a form the diagram declares itself."""
    validator = Draft202012Validator(schema, format_checker=FormatChecker())
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        fields = [{"field": _field(e), "message": _message(e, schema)} for e in errors]
        raise Invalid("表单数据不符合要求", {"form": name, "errors": fields})


def _missing(error) -> str | None:
    """The property a `required` error is about (jsonschema names it only in its English message)."""
    if error.validator != "required":
        return None
    wanted = error.validator_value if isinstance(error.validator_value, list) else []
    instance = error.instance if isinstance(error.instance, dict) else {}
    for name in wanted:
        if name not in instance and repr(name) in error.message:
            return name
    return error.message.split("'")[1] if "'" in error.message else None


def _field(error) -> str:
    path = [str(p) for p in error.absolute_path]
    missing = _missing(error)
    if missing is not None:
        path.append(missing)  # name the missing field itself
    return "/".join(path)


TYPE_NAMES = {"string": "文本", "integer": "整数", "number": "数字", "boolean": "是/否（true 或 false）",
              "array": "列表", "object": "对象", "null": "空值"}
FORMAT_NAMES = {"date": "日期，格式 YYYY-MM-DD", "date-time": "日期时间，格式 YYYY-MM-DDTHH:MM:SS+08:00",
                "time": "时间，格式 HH:MM:SS", "email": "电子邮箱地址", "uri": "网址", "ipv4": "IPv4 地址",
                "uuid": "UUID"}


def _own_text(schema: dict, validator: str, missing: str | None = None) -> str | None:
    """A form's own error text (`errorMessage`, see docs/conventions.md): a string for every error of that
    field, or an object keyed by validator; under `required`, a string or an object keyed by field."""
    hint = schema.get("errorMessage") if isinstance(schema, dict) else None
    if isinstance(hint, dict):
        hint = hint.get(validator)
        if isinstance(hint, dict):
            hint = hint.get(missing) if missing is not None else None
        elif validator == "required" and missing is None:
            hint = None
    elif validator == "required" and isinstance(hint, str):
        hint = None  # an object's own text is about its value, not about one of its fields being missing
    return hint if isinstance(hint, str) and hint else None


def _title(error, schema: dict | None = None) -> str:
    sub = schema if schema is not None else (error.schema if isinstance(error.schema, dict) else {})
    if isinstance(sub, dict) and isinstance(sub.get("title"), str):
        return sub["title"]
    path = [str(p) for p in error.absolute_path]
    return path[-1] if path else "表单"


def _choices(sub: dict) -> str:
    values = sub.get("enum") or []
    names = sub.get("enumNames") if isinstance(sub.get("enumNames"), list) else None
    if names and len(names) == len(values):
        return "、".join(f"{n}（{v}）" for n, v in zip(names, values, strict=True))
    return "、".join(str(v) for v in values)


def _message(error, schema: dict) -> str:
    """The form's own text when it gives one (`errorMessage`), else a Chinese message naming the field's title."""
    sub = error.schema if isinstance(error.schema, dict) else {}
    validator, value = error.validator, error.validator_value
    missing = _missing(error)
    own = _own_text(sub, validator, missing)
    if own:
        return own
    if validator == "required":
        prop = (sub.get("properties", {}) or {}).get(missing, {}) if missing else {}
        own = _own_text(prop, "required") if isinstance(prop, dict) else None
        if own is None and isinstance(prop, dict) and isinstance(prop.get("errorMessage"), str):
            own = prop["errorMessage"]  # the field's own text covers its absence too
        return own or f"必填项缺失：{_title(error, prop) if isinstance(prop, dict) and prop.get('title') else missing}"
    title = _title(error)
    if validator == "type":
        kinds = value if isinstance(value, list) else [value]
        return f"{title}应为{'或'.join(TYPE_NAMES.get(k, k) for k in kinds)}"
    if validator == "enum":
        return f"{title}应为以下之一：{_choices(sub)}"
    texts = {
        "const": lambda: f"{title}应为 {value}",
        "minLength": lambda: f"请填写{title}" if value == 1 else f"{title}至少 {value} 个字",
        "maxLength": lambda: f"{title}不能超过 {value} 个字",
        "minimum": lambda: f"{title}不能小于 {value}",
        "maximum": lambda: f"{title}不能大于 {value}",
        "exclusiveMinimum": lambda: f"{title}应大于 {value}",
        "exclusiveMaximum": lambda: f"{title}应小于 {value}",
        "multipleOf": lambda: f"{title}应为 {value} 的整数倍",
        "pattern": lambda: f"{title}格式不正确",
        "format": lambda: f"{title}应为{FORMAT_NAMES.get(value, f'{value} 格式')}",
        "minItems": lambda: f"{title}至少 {value} 项",
        "maxItems": lambda: f"{title}最多 {value} 项",
        "uniqueItems": lambda: f"{title}中有重复项",
        "minProperties": lambda: f"{title}至少填写 {value} 项",
        "maxProperties": lambda: f"{title}最多填写 {value} 项",
        "additionalProperties": lambda: f"{title}含有未定义的字段：" + "、".join(
            sorted(set(error.instance) - set(sub.get("properties", {}))) if isinstance(error.instance, dict) else []),
        "dependentRequired": lambda: f"{title}填写不完整（缺少相关联的必填项）",
        "oneOf": lambda: f"{title}不符合任何一种允许的填写方式",
        "anyOf": lambda: f"{title}不符合任何一种允许的填写方式",
        "not": lambda: f"{title}的值不被允许",
        "contains": lambda: f"{title}缺少符合要求的项",
        "false": lambda: f"不允许填写{title}",
    }
    make = texts.get(validator or "false")
    return make() if make else f"{title}不符合要求（{validator}）"
