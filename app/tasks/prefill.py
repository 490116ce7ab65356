"""Prefilled task data: what plugins (the hall's intake) know before the clerk types it.

Each plugin's `task_prefill` gets the task row, its case row and the element's own camunda:properties and returns
values or None; `GET /tasks/{id}` shows the merged values as `prefill`. `task_defaults` answers also fill what a
completion leaves out (the clerk's values win).
"""

from __future__ import annotations

from ..definitions import service as definitions
from ..extensions import db
from ..instances.models import ProcessInstance
from ..plugins import hooks


def _merged(task, hook_name: str) -> dict:
    instance = db.session.get(ProcessInstance, task.instance_id)
    if instance is None:
        return {}
    properties = definitions.compiled_by_id(instance.definition_id).element_properties(task.element_id)
    values: dict = {}
    for answer in getattr(hooks(), hook_name)(task=task, case=instance, properties=properties):
        values.update(answer or {})
    return values


def for_task(task) -> dict:
    return _merged(task, "task_prefill")


def with_defaults(task, data: dict) -> dict:
    """The submitted data, with what the plugins' defaults know filled in where the clerk left it out."""
    filled = _merged(task, "task_defaults")
    return {**filled, **data} if filled else data
