"""The external_task rows of a case's step, written from the difference of its snapshots (as timers are)."""

from __future__ import annotations

from datetime import datetime

from ..engine.case import Snapshot
from ..extensions import db
from . import wake
from .external_models import ExternalTask

_ROWS = ExternalTask.__table__


def sync(instance, before: Snapshot, after: Snapshot, at: datetime) -> None:
    """New waiting service tasks get a row; a row whose task the case no longer waits for is cancelled (a
    worker's completion or BPMN error marks its own row first)."""
    was = {t.id for t in before.external_tasks}
    now_open = {t.id for t in after.external_tasks}
    connection = db.session.connection()
    new_rows = [{"id": t.id, "instance_id": instance.id, "definition_id": instance.definition_id,
                 "process_key": instance.process_key, "business_key": instance.business_key,
                 "element_id": t.element_id, "name": t.name, "topic": t.topic, "priority": t.priority,
                 "state": "open", "worker_id": None, "lock_expiration": None, "retries": None,
                 "error_message": None, "error_details": None, "local_variables": t.local, "created_at": at,
                 "ended_at": None}
                for t in after.external_tasks if t.id not in was]
    if new_rows:
        connection.execute(_ROWS.insert(), new_rows)
        wake.after_commit()  # long-polling workers of any server process look again once this commits
    gone = was - now_open
    if gone:
        connection.execute(_ROWS.update().where(_ROWS.c.id.in_(gone), _ROWS.c.state == "open")
                           .values(state="cancelled", ended_at=at, worker_id=None, lock_expiration=None))


def migrated(instance_id: str, definition_id: int, before: Snapshot, after: Snapshot) -> list:
    """A case moved to another version (instances.migration): its waiting tasks keep their rows (and locks),
    with the target's element, name, topic and priority; returns the tasks the rows now describe (the new
    baseline's: what maps as it is now, what the target dropped as it was, so the save cancels it)."""
    connection = db.session.connection()
    old = {t.id: t for t in before.external_tasks}
    for task in after.external_tasks:
        if task.id in old:
            connection.execute(_ROWS.update().where(_ROWS.c.id == task.id, _ROWS.c.state == "open").values(
                element_id=task.element_id, name=task.name, topic=task.topic, priority=task.priority,
                definition_id=definition_id))
    now_ids = {t.id for t in after.external_tasks}
    return [t for t in after.external_tasks if t.id in old] + [t for t in before.external_tasks if t.id not in now_ids]
