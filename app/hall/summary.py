"""A case as people see it: the runtime's row and the hall's (number, matter, owner, clock) side by side.

The API and the workbench show a case's hall fields beside its runtime fields; `CaseView` reads each from the
row that owns it, and `views` reads the hall rows of a page of cases in one query.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from ..extensions import db
from .models import HallCase, HallTask

# what a case shows of the hall, and what it is when the case is no matter's (no hall row)
FIELDS: dict[str, Any] = {
    "case_number": None, "owner": None, "owner_post": None, "matter_code": None, "window_no": None,
    "green_channel": False, "received_on": None, "accepted_on": None, "promised_days": None, "paused_days": 0,
    "due_date": None, "light": None, "outcome": None, "working_days_used": None, "on_time": None,
    "decided_at": None, "decision": None, "deciding_authority": None, "delivery_due": None, "delivered_at": None,
    "closed_at": None, "extended_days": 0, "accepted_on_receipt": False, "supplement_count": 0,
}


class CaseView:
    """The runtime's case row with the hall's fields beside it (read-only)."""

    def __init__(self, instance: Any, case: HallCase | None) -> None:
        self.instance = instance
        self.hall = case

    def __getattr__(self, name: str) -> Any:
        if name in FIELDS:
            return getattr(self.hall, name) if self.hall is not None else FIELDS[name]
        return getattr(self.instance, name)

    @property
    def is_matter_case(self) -> bool:
        return self.hall is not None and self.hall.matter_code is not None


def view(instance: Any) -> CaseView:
    return CaseView(instance, db.session.get(HallCase, instance.id))


def views(instances: Iterable[Any]) -> list[CaseView]:
    rows = list(instances)
    ids = [i.id for i in rows]
    found = {c.instance_id: c for c in db.session.scalars(
        sa.select(HallCase).where(HallCase.instance_id.in_(ids)))} if ids else {}
    return [CaseView(i, found.get(i.id)) for i in rows]


def fields(case: HallCase | None) -> dict[str, Any]:
    return {name: (getattr(case, name) if case is not None else default) for name, default in FIELDS.items()}


# -- steps -----------------------------------------------------------------------------------------------------
TASK_FIELDS: dict[str, Any] = {"light": None, "role": None}


class TaskView:
    """The runtime's task (a row, or a dict of one) with the hall's fields beside it (read-only)."""

    def __init__(self, task: Any, hall: dict[str, Any] | None) -> None:
        self.task = task
        self.hall = hall  # plain values: a view outlives the transaction that read it

    def __getattr__(self, name: str) -> Any:
        if name in TASK_FIELDS:
            return self.hall[name] if self.hall is not None else TASK_FIELDS[name]
        if isinstance(self.task, dict):
            try:
                return self.task[name]
            except KeyError:
                raise AttributeError(name) from None
        return getattr(self.task, name)


_HALL_FIELDS = sa.select(HallTask.__table__.c.task_id, *(HallTask.__table__.c[k] for k in TASK_FIELDS)) \
    .where(HallTask.__table__.c.task_id.in_(sa.bindparam("ids", expanding=True)))  # built once: every answer reads it


def task_views(tasks: Iterable[Any]) -> list[TaskView]:
    """The tasks with the hall's fields: a new task's row as the step wrote it carries them already
    (`shape_task_rows`), the others are read in one query."""
    rows = list(tasks)
    known = {t["id"]: {k: t[k] for k in TASK_FIELDS} for t in rows
             if isinstance(t, dict) and TASK_FIELDS.keys() <= t.keys()}
    ids = [i for i in (t["id"] if isinstance(t, dict) else t.id for t in rows) if i not in known]
    if ids:
        known.update((row["task_id"], {k: row[k] for k in TASK_FIELDS})
                     for row in db.session.execute(_HALL_FIELDS, {"ids": ids}).mappings())
    return [TaskView(t, known.get(t["id"] if isinstance(t, dict) else t.id)) for t in rows]


def task_view(task: Any) -> TaskView:
    return task_views([task])[0]
