"""Task forms: JSON Schema documents, deployed from forms/ and by API, used to validate submitted data."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError

from ..clock import now
from ..errors import Invalid, NotFound
from ..extensions import db
from .models import Form

_validators: dict[int, Draft202012Validator] = {}
# The latest version of each form key, remembered briefly: completing a task then costs no query for its form.
# Another process's deployment is seen within LATEST_TTL seconds.
_latest: dict[str, tuple[float, int | None, int | None]] = {}
LATEST_TTL = 5.0


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
    _latest.pop(key, None)
    return form, True


def deploy_file(name: str, content: bytes, actor: str | None) -> tuple[Form, bool]:
    """One uploaded `<key>.json` file (the form key is the file name without `.json`)."""
    if not name.endswith(".json"):
        raise Invalid("表单文件名须为 <表单键>.json", {"file": name})
    try:
        schema = json.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Invalid(f"表单文件不是有效 JSON: {exc}", {"file": name}) from None
    return deploy(name.rsplit("/", 1)[-1][:-5], schema, actor, filename=name)


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
    validator = _validators.get(form.id)
    if validator is None:
        validator = Draft202012Validator(form.schema, format_checker=FormatChecker())
        _validators[form.id] = validator
    return validator


def _validator_for_key(form_key: str) -> tuple[Draft202012Validator | None, int | None]:
    cached = _latest.get(form_key)
    if cached and cached[0] > time.monotonic() and (cached[1] is None or cached[1] in _validators):
        return (_validators[cached[1]] if cached[1] is not None else None), cached[2]
    form = latest(form_key)
    _latest[form_key] = (time.monotonic() + LATEST_TTL, form.id if form else None, form.version if form else None)
    return (_validator(form) if form else None), (form.version if form else None)


def forget_cached() -> None:
    _validators.clear()
    _latest.clear()


def validate_submission(form_key: str | None, data: dict[str, Any]) -> None:
    """Raise 422 with every field error when data does not satisfy the task's form."""
    if not form_key:
        return
    validator, version = _validator_for_key(form_key)
    if validator is None:
        return
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        fields = [{"field": _field(e), "message": _message(e, validator.schema)} for e in errors]
        raise Invalid("表单数据不符合要求", {"form": form_key, "version": version, "errors": fields})


def validate_against(schema: dict, data: dict[str, Any], name: str) -> None:
    """Like `validate_submission`, for a form the diagram declares itself."""
    validator = Draft202012Validator(schema, format_checker=FormatChecker())
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        fields = [{"field": _field(e), "message": _message(e, schema)} for e in errors]
        raise Invalid("表单数据不符合要求", {"form": name, "errors": fields})


def _field(error) -> str:
    path = [str(p) for p in error.absolute_path]
    if error.validator == "required" and "'" in error.message:
        path.append(error.message.split("'")[1])  # name the missing field itself
    return "/".join(path)


def _message(error, schema: dict) -> str:
    """Prefer the form's own Chinese hint (`errorMessage` on the failing subschema), else jsonschema's text."""
    sub = error.schema if isinstance(error.schema, dict) else {}
    hint = sub.get("errorMessage")
    if isinstance(hint, dict):
        hint = hint.get(error.validator)
    if isinstance(hint, str):
        return hint
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        title = (schema.get("properties", {}).get(missing, {}) or {}).get("title", missing)
        return f"必填项缺失：{title}"
    return error.message
