"""Prefilled task data: what a plugin (the hall's intake) knows before the clerk types it.

A provider gets the task row, its case row and the element's own camunda:properties, and returns values or
None. `GET /tasks/{id}` shows the merged values as `prefill`; `defaults` providers also fill what a completion
leaves out (the clerk's values win).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Provider = Callable[[Any, Any, dict[str, str]], dict | None]
_providers: dict[str, tuple[Provider, Provider | None]] = {}


def register(name: str, prefill: Provider, defaults: Provider | None = None) -> None:
    _providers[name] = (prefill, defaults)


def _merged(task, which: int) -> dict:
    if not _providers:
        return {}
    from ..definitions import service as definitions
    from ..extensions import db
    from ..instances.models import ProcessInstance

    instance = db.session.get(ProcessInstance, task.instance_id)
    if instance is None:
        return {}
    properties = definitions.compiled_by_id(instance.definition_id).element_properties(task.element_id)
    values: dict = {}
    for providers in _providers.values():
        provider = providers[which]
        if provider is not None:
            values.update(provider(task, instance, properties) or {})
    return values


def for_task(task) -> dict:
    return _merged(task, 0)


def with_defaults(task, data: dict) -> dict:
    """The submitted data, with what the defaults providers know filled in where the clerk left it out."""
    filled = _merged(task, 1)
    return {**filled, **data} if filled else data
