"""Timer events on an injectable clock, accepting both Camunda Modeler and SpiffWorkflow expressions.

SpiffWorkflow's own timer definitions read the wall clock and evaluate every timer text as Python, so a
bare `PT5M` written by Camunda Modeler fails. These subclasses take "now" from the workflow's script
engine (see `script.py`) and accept bare ISO 8601 values as literals.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.util.task import TaskState

from .errors import DefinitionError

_ISO_DURATION = re.compile(r"^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$", re.I)
_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$", re.I)
_ISO_CYCLE = re.compile(r"^R\d*/", re.I)
_ISO_LOOKALIKE = re.compile(r"^(P|R\d*/|\d{4}-)[0-9A-Z.:/+-]*$")  # meant as ISO 8601, whether valid or not


def is_iso_literal(text: str) -> bool:
    """True when the timer text is a bare ISO 8601 value as Camunda Modeler writes it."""
    text = text.strip()
    return bool(_ISO_DURATION.match(text) or _ISO_DATETIME.match(text) or _ISO_CYCLE.match(text))


def _now(my_task) -> datetime:
    return my_task.workflow.script_engine.now()


def _evaluate(my_task, expression: str) -> str:
    text = (expression or "").strip()
    if is_iso_literal(text):
        return text
    value = my_task.workflow.script_engine.evaluate(my_task, text)
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _as_utc(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:  # a local time without offset means China Standard Time here
        value = value.replace(tzinfo=timezone(timedelta(hours=8)))
    return value.astimezone(UTC)


class ClockedTimeDate(TimeDateEventDefinition):
    def has_fired(self, my_task):
        event_value = my_task._get_internal_data("event_value")
        if event_value is None:
            event_value = _as_utc(_evaluate(my_task, self.expression)).isoformat()
            my_task._set_internal_data(event_value=event_value)
        if _as_utc(event_value) <= _now(my_task):
            my_task._set_internal_data(event_fired=True)
        return my_task._get_internal_data("event_fired", False)


class ClockedDuration(DurationTimerEventDefinition):
    def has_fired(self, my_task):
        event_value = my_task._get_internal_data("event_value")
        if event_value is None:
            parsed = TimerEventDefinition.parse_iso_duration(_evaluate(my_task, self.expression))
            now = _now(my_task)
            event_value = (now + TimerEventDefinition.get_timedelta_from_start(parsed, now)).isoformat()
            my_task._set_internal_data(event_value=event_value)
        if _as_utc(event_value) <= _now(my_task):
            my_task._set_internal_data(event_fired=True)
        return my_task._get_internal_data("event_fired", False)


class ClockedCycle(CycleTimerEventDefinition):
    def cycle_complete(self, my_task):
        event_value = my_task._get_internal_data("event_value")
        now = _now(my_task)
        if event_value is None:
            cycles, start, duration = parse_cycle(_evaluate(my_task, self.expression), now)
            event_value = {"cycles": cycles, "next": start.isoformat(), "duration": duration.total_seconds()}
        ready = False
        if event_value["cycles"] != 0:
            next_event = datetime.fromisoformat(event_value["next"])
            if next_event <= now:
                event_value["next"] = (next_event + timedelta(seconds=event_value["duration"])).isoformat()
                event_value["cycles"] -= 1
                ready = True
        else:
            my_task.internal_data.pop("event_value", None)
            my_task.internal_data["event_fired"] = True
        my_task._set_internal_data(event_value=event_value)
        return ready


def parse_cycle(text: str, now: datetime) -> tuple[int, datetime, timedelta]:
    """R[n]/duration, R[n]/start/duration or R[n]/duration/end: cycles (-1 = forever), first firing, period."""
    parts = text.upper().strip().lstrip("R").split("/")
    cycles = int(parts[0]) if parts[0] else -1
    if len(parts) == 2:
        duration = TimerEventDefinition.get_timedelta_from_start(
            TimerEventDefinition.parse_iso_duration(parts[1]), now)
        return cycles, now + duration, duration
    if len(parts) == 3 and parts[1].startswith("P"):
        end = _as_utc(parts[2])
        duration = TimerEventDefinition.get_timedelta_from_end(TimerEventDefinition.parse_iso_duration(parts[1]), end)
        return cycles, end - duration, duration
    if len(parts) == 3:
        start = _as_utc(parts[1])
        duration = TimerEventDefinition.get_timedelta_from_start(TimerEventDefinition.parse_iso_duration(parts[2]), start)
        return cycles, start, duration
    raise ValueError(f"invalid cycle {text!r}")


_CLOCKED = {
    TimeDateEventDefinition: ClockedTimeDate,
    DurationTimerEventDefinition: ClockedDuration,
    CycleTimerEventDefinition: ClockedCycle,
}


def _clocked(definition):
    if isinstance(definition, MultipleEventDefinition):
        definition.event_definitions = [_clocked(d) for d in definition.event_definitions]
        return definition
    target = _CLOCKED.get(type(definition))
    if target is None:
        return definition
    clocked = target(definition.name, definition.expression, description=definition.description)
    return clocked


def install_clocked_timers(spec, filename: str | None = None) -> None:
    """Swap every timer definition of a parsed process spec for its clocked twin; check ISO literals."""
    for task_spec in spec.task_specs.values():
        definition = getattr(task_spec, "event_definition", None)
        if definition is None:
            continue
        task_spec.event_definition = _clocked(definition)
        for timer in _timers_of(task_spec.event_definition):
            check_expression(timer, task_spec.bpmn_id or task_spec.name, filename)


def _timers_of(definition):
    if isinstance(definition, MultipleEventDefinition):
        for d in definition.event_definitions:
            yield from _timers_of(d)
    elif isinstance(definition, TimerEventDefinition):
        yield definition


def check_expression(timer: TimerEventDefinition, element: str, filename: str | None) -> None:
    text = (timer.expression or "").strip()
    if not text:
        raise DefinitionError("定时器缺少时间表达式 (timer without a value)", filename=filename, element=element)
    literal = text.strip("\"'") if text[:1] in "\"'" and text[-1:] == text[:1] else text
    if not is_iso_literal(literal) and not _ISO_LOOKALIKE.match(literal):
        try:
            compile(text, "<timer>", "eval")
        except SyntaxError:
            raise DefinitionError(
                f"定时器表达式无效: {text} (neither ISO 8601 nor a Python expression)",
                filename=filename, element=element) from None
        return
    try:
        now = datetime.now(UTC)
        if isinstance(timer, CycleTimerEventDefinition):
            parse_cycle(literal, now)
        elif literal.upper().startswith("P"):
            TimerEventDefinition.parse_iso_duration(literal)
        else:
            _as_utc(literal)
    except Exception:
        raise DefinitionError(f"定时器时间值无效: {text}", filename=filename, element=element) from None


def timer_due(task) -> datetime | None:
    """When a waiting timer task next fires, from the value SpiffWorkflow keeps in the task."""
    value = task._get_internal_data("event_value")
    if value is None:
        return None
    if isinstance(value, dict):
        if value.get("cycles") == 0:
            return None
        value = value.get("next")
    return _as_utc(value)


def waiting_timer_tasks(workflow):
    """The tasks of a case that wait on a timer, with their due time."""
    for task in workflow.get_tasks(state=TaskState.WAITING):
        definition = getattr(task.task_spec, "event_definition", None)
        if definition is not None and any(True for _ in _timers_of(definition)):
            yield task
