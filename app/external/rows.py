"""The external_task rows of a case's step, written from the difference of its snapshots (as timers are)."""

from __future__ import annotations

from datetime import datetime

from ..engine.case import Snapshot
from ..extensions import db
from . import wake
from .models import ExternalTask

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
                 "error_message": None, "error_details": None, "created_at": at, "ended_at": None}
                for t in after.external_tasks if t.id not in was]
    if new_rows:
        connection.execute(_ROWS.insert(), new_rows)
        wake.after_commit()  # long-polling workers of any server process look again once this commits
    gone = was - now_open
    if gone:
        connection.execute(_ROWS.update().where(_ROWS.c.id.in_(gone), _ROWS.c.state == "open")
                           .values(state="cancelled", ended_at=at, worker_id=None, lock_expiration=None))
