"""Writing and reading the audit trail."""

from __future__ import annotations

from typing import Any

from ..clock import now
from ..extensions import db
from .models import AuditEntry


def record(action: str, *, actor: str | None, instance_id: str | None = None, task_id: str | None = None,
           element_id: str | None = None, details: dict[str, Any] | None = None) -> None:
    db.session.add(AuditEntry(instance_id=instance_id, task_id=task_id, element_id=element_id, at=now(),
                              actor=actor, action=action, details=details or {}))


def entry(action: str, *, actor: str | None, instance_id: str | None = None, task_id: str | None = None,
          element_id: str | None = None, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"instance_id": instance_id, "task_id": task_id, "element_id": element_id, "at": now(),
            "actor": actor, "action": action, "details": details or {}}


def record_many(entries: list[dict[str, Any]]) -> None:
    """Append several entries in one statement (an engine run can take many steps)."""
    if entries:
        db.session.connection().execute(AuditEntry.__table__.insert(), entries)


def data_changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """What a step changed in the case data: keys set (with their new values) and keys removed."""
    changed = {k: v for k, v in after.items() if k not in before or before[k] != v}
    removed = [k for k in before if k not in after]
    result: dict[str, Any] = {}
    if changed:
        result["set"] = changed
    if removed:
        result["removed"] = removed
    return result


def for_instance(instance_id: str, limit: int = 500, offset: int = 0) -> list[AuditEntry]:
    return list(db.session.scalars(
        db.select(AuditEntry).where(AuditEntry.instance_id == instance_id)
        .order_by(AuditEntry.id).limit(limit).offset(offset)))
