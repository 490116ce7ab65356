"""Waiting BPMN timers, indexed by due time: the scheduler's cost follows the due timers only (defined with the
case's other rows in app/instances/models.py, written by the runtime)."""

from ..instances.models import TIMER_STATES as STATES
from ..instances.models import Timer

__all__ = ["STATES", "Timer"]
