"""A calendar change reaches the cases that wait on working days (`calendar_changed`, app/calendar raises it in
the administrator's transaction): every waiting timer whose element counts working days (`tongban.calendar`)
and whose span touches a changed day is due again where the same duration, from the same start, ends on the
calendar now. Each case moved is a step of its own (`calendar.recomputed`, audited with the timers it moved); its
task rows' due dates follow. Nothing fires here: a timer now due fires on the scheduler's next pass.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import sqlalchemy as sa

from ..clock import SHANGHAI
from ..definitions import service as definitions
from ..engine.timers import WORKING_DAYS
from ..extensions import db
from . import runtime
from .models import ProcessInstance, Timer

ACTION = "calendar.recomputed"


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=SHANGHAI)


def affected_timers(days: list[date]) -> dict[str, dict[str, datetime]]:
    """Waiting working-day timers whose span (armed → due) holds a changed day: case id -> {task id: armed at}."""
    first, last = min(days), max(days)
    rows = db.session.execute(
        sa.select(Timer.instance_id, Timer.task_id, Timer.element_id, Timer.created_at, ProcessInstance.definition_id)
        .join(ProcessInstance, ProcessInstance.id == Timer.instance_id)
        .where(Timer.state == "waiting", Timer.kind != "start", ProcessInstance.state == "running",
               Timer.due_at >= _local_midnight(first), Timer.created_at < _local_midnight(last + timedelta(days=1)))
    ).all()
    found: dict[str, dict[str, datetime]] = {}
    for instance_id, task_id, element_id, created_at, definition_id in rows:
        properties = definitions.compiled_by_id(definition_id).element_properties(element_id)
        if properties.get("tongban.calendar") == WORKING_DAYS:
            found.setdefault(instance_id, {})[task_id] = created_at
    return found


def after_calendar_change(days: list[date], actor: str | None) -> list[str]:
    """Reschedule the affected cases' working-day timers, in the caller's transaction; returns the cases moved."""
    if not days:
        return []
    moved_cases = []
    for instance_id, armed in sorted(affected_timers(days).items()):
        instance = runtime.lock(instance_id)
        if instance is None or instance.state != "running":
            continue
        case = runtime.load(instance)
        moved = case.reschedule_working_day_timers(armed.get)
        if not moved:
            continue
        runtime.save(instance, case, actor=actor, action=ACTION, commit=False,
                     details={"days": [d.isoformat() for d in sorted(days)],
                              "timers": {task_id: due.isoformat() for task_id, due in moved.items()}})
        moved_cases.append(instance_id)
    return moved_cases
