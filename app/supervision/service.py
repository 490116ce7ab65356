"""Electronic supervision (电子监察) and the case clock's view."""

from __future__ import annotations

import sqlalchemy as sa

from ..calendar import service as calendar
from ..clock import now
from ..extensions import db
from ..instances.models import ProcessInstance
from .clock import local_date
from .models import ClockEvent


def clock_view(instance: ProcessInstance) -> dict:
    """The case clock: limit, pauses, due date, light, and its history."""
    events = list(db.session.scalars(sa.select(ClockEvent).where(ClockEvent.instance_id == instance.id)
                                     .order_by(ClockEvent.id)))
    if instance.received_on is None:
        state = "none"
    elif instance.outcome is not None:
        state = "stopped"
    elif instance.paused_since is not None:
        state = "paused"
    else:
        state = "running"
    view = {"instance_id": instance.id, "business_key": instance.business_key, "matter_code": instance.matter_code,
            "department_code": instance.department_code, "window_no": instance.window_no,
            "green_channel": bool(instance.green_channel), "received_on": instance.received_on,
            "promised_days": instance.promised_days, "paused_days": instance.paused_days or 0,
            "paused_since": instance.paused_since, "due_date": instance.due_date, "light": instance.light,
            "state": state, "outcome": instance.outcome, "working_days_used": instance.working_days_used,
            "on_time": instance.on_time, "supplement_count": instance.supplement_count or 0,
            "working_days_left": None, "provisional": False, "fallback_years": [], "note": None,
            "events": events}
    if instance.received_on is not None and instance.due_date is not None:
        cal = calendar.workday_calendar()
        years = cal.fallback_years_between(instance.received_on, instance.due_date)
        view.update(provisional=bool(years), fallback_years=list(years), note=calendar.fallback_note(years))
        if state != "stopped":
            view["working_days_left"] = cal.working_days_between(local_date(now()), instance.due_date)
            if local_date(now()) > instance.due_date:
                view["working_days_left"] = -cal.working_days_between(instance.due_date, local_date(now()))
    return view

