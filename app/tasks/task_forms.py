"""A user task's form, as its diagram names it: which document, which version, and whether the server checks it.

- a JSON Schema form (`camunda:formKey`, SpiffWorkflow's `formJsonSchemaFilename` with its ui schema);
- a Camunda Form (form-js `.form`, by `camunda:formRef` with its binding or `camunda-forms:deployment:x.form`):
  converted to JSON Schema when deployed (forms/formjs.py), rendered with form-js on the task page;
- Camunda's generated form (`camunda:formData`), a JSON Schema the diagram itself holds;
- an embedded HTML form (`embedded:app:forms/x.html`): neither shown nor checked by the server — the task says so.

The version follows the binding: the latest one, the one deployed with the diagram (`deployment`: the newest
deployed no later than the diagram's version), or a given one (`version`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ..definitions import service as definitions
from ..definitions.models import ProcessDefinition
from ..engine.compiler import UserTaskMeta
from ..extensions import db
from ..forms import formjs
from ..forms import service as forms
from ..forms.models import Form
from ..instances.models import ProcessInstance
from .models import UserTask

EMBEDDED_NOTE = "该任务使用嵌入式 HTML 表单（{ref}），服务器不显示也不校验其提交的数据 (embedded form: not validated)"


@dataclass(frozen=True)
class TaskForm:
    schema: dict | None  # what a submission is checked against; None: any data
    kind: str | None  # json_schema | form_js | generated | embedded | None (no form)
    key: str | None = None
    version: int | None = None
    ref: str | None = None  # what the diagram wrote
    note: str | None = None  # said on the task (an embedded form is not checked)

    @property
    def validated(self) -> bool:
        return self.schema is not None

    @property
    def form_js(self) -> dict | None:
        return self.schema.get(formjs.FORM_JS_KEY) if self.schema else None

    @property
    def ui_schema(self) -> dict | None:
        return self.schema.get(forms.UI_SCHEMA_KEY) if self.schema else None


def meta_of(task: UserTask, instance: ProcessInstance | None = None) -> UserTaskMeta | None:
    instance = instance or db.session.get(ProcessInstance, task.instance_id)
    process = definitions.compiled_by_id(instance.definition_id) if instance is not None else None
    return process.user_tasks.get(task.element_id) if process is not None else None


def _form_row(key: str, meta: UserTaskMeta | None, instance: ProcessInstance | None) -> Form | None:
    binding = meta.form_binding if meta is not None else "latest"
    query = sa.select(Form).where(Form.key == key)
    if binding == "version" and meta is not None and meta.form_version is not None:
        query = query.where(Form.version == meta.form_version)
    elif binding == "deployment" and instance is not None:
        deployed = db.session.scalar(sa.select(ProcessDefinition.deployed_at)
                                     .where(ProcessDefinition.id == instance.definition_id))
        if deployed is not None:
            query = query.where(Form.deployed_at <= deployed)
    return db.session.scalar(query.order_by(Form.version.desc()).limit(1))


def for_task(task: UserTask, instance: ProcessInstance | None = None) -> TaskForm:
    """The task's form (a task of a removed definition, or one naming no form: none)."""
    instance = instance or db.session.get(ProcessInstance, task.instance_id)
    meta = meta_of(task, instance)
    kind = meta.form_kind if meta is not None else ("json_schema" if task.form_key else None)
    ref = meta.form_ref if meta is not None else task.form_key
    if meta is not None and meta.inline_form is not None:
        return TaskForm(meta.inline_form, "generated", ref=ref)
    if kind == "embedded":
        return TaskForm(None, "embedded", ref=ref, note=EMBEDDED_NOTE.format(ref=ref))
    if not task.form_key:
        return TaskForm(None, None)
    form = _form_row(task.form_key, meta, instance)
    if form is None:  # a key from an expression, or a form withdrawn: the task takes any data
        return TaskForm(None, kind, task.form_key, ref=ref)
    return TaskForm(form.schema, "form_js" if formjs.FORM_JS_KEY in form.schema else kind or "json_schema",
                    form.key, form.version, ref)


def validate(task: UserTask, instance: ProcessInstance, data: dict[str, Any]) -> None:
    """422 listing every field error when the data does not satisfy the task's form (none: any data)."""
    meta = meta_of(task, instance)
    if meta is None or meta.form_binding == "latest" or not task.form_key:
        forms.validate_submission(task.form_key, data)  # the cached path: one validator per key
        return
    form = _form_row(task.form_key, meta, instance)
    if form is not None:
        forms.validate_form(form, data)


# -- SpiffWorkflow's instructions: `{{ name }}` / `{{ a.b }}` / `{{ a[0] }}` filled from the task's data -----------
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*|\[\d+\])*)\s*\}\}")


def render_instructions(text: str | None, data: dict[str, Any]) -> str | None:
    """The instructions with each `{{ path }}` replaced by that value of the data: a lookup, never an evaluation
    (a placeholder that is anything else, or names nothing, is left as written)."""
    if not text:
        return text

    def value(match: re.Match) -> str:
        found: Any = data
        for part in re.findall(r"[A-Za-z_][A-Za-z0-9_]*|\[\d+\]", match.group(1)):
            if part.startswith("["):
                index = int(part[1:-1])
                found = found[index] if isinstance(found, list) and index < len(found) else _MISSING
            else:
                found = found.get(part, _MISSING) if isinstance(found, dict) else _MISSING
            if found is _MISSING:
                return match.group(0)
        return "" if found is None else str(found)

    return _PLACEHOLDER.sub(value, text)


_MISSING = object()


def instructions(task: UserTask, instance: ProcessInstance | None = None) -> str | None:
    """The task's instructions for the clerk, filled from the task's own data (a multi-instance item included)."""
    instance = instance or db.session.get(ProcessInstance, task.instance_id)
    meta = meta_of(task, instance)
    if meta is None or not meta.instructions:
        return None
    data = dict(instance.data or {}) if instance is not None else {}
    if "{{" in meta.instructions and task.state == "open" and instance is not None:
        data.update(_task_data(task, instance))
    return render_instructions(meta.instructions, data)


def _task_data(task: UserTask, instance: ProcessInstance) -> dict[str, Any]:
    """The open task's own data, read from the stored case (the live workflow stays with its writers)."""
    from ..engine.case import Case

    try:
        case = Case.load(definitions.compiled_by_id(instance.definition_id), instance.engine_state,
                         resolver=definitions.CallResolver(instance.definition_id))
        return dict(case.task_data(task.id) or {})
    except Exception:  # instructions are a help: a case that cannot be read shows them unfilled
        return {}
