"""Timer events on an injectable clock, with the values the modeling tools write.

SpiffWorkflow's own timer definitions read the wall clock and evaluate every timer text as Python, so a
bare `PT5M` written by Camunda Modeler fails, and so do Camunda's Quartz cron cycles (`0 0/5 * * * ?`) and
its `${name}` expressions. The parser (`parser.py`) builds these subclasses instead: "now" comes from the
workflow's script engine (`script.py`), bare ISO 8601 values and cron expressions are literals, `${...}`
has been translated to Python (`expressions.py`), and anything else is evaluated (in the sandbox) when the
timer starts. A value that cannot be evaluated fails the case's step with the timer named, never the server.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from croniter import croniter
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.util.task import TaskState

from .errors import DefinitionError
from .moments import EARLIEST_DUE, LATEST_DUE, LOCAL_TZ, as_utc, in_range
from .specs import element_properties

_ISO_DURATION = re.compile(r"^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$", re.I)
_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$", re.I)
_ISO_CYCLE = re.compile(r"^R\d*/", re.I)
_ISO_LOOKALIKE = re.compile(r"^(P|R\d*/|\d{4}-)[0-9A-Z.:/+-]*$")  # meant as ISO 8601, whether valid or not
_CRON_FIELD = r"[0-9A-Z*?/,#LW-]+"
_CRON = re.compile(rf"^{_CRON_FIELD}(\s+{_CRON_FIELD}){{4,6}}$", re.I)
MIN_CYCLE_SECONDS = 1  # a repeating timer's shortest period: a period of 0 would fire forever at once


def is_iso_literal(text: str) -> bool:
    """True when the timer text is a bare ISO 8601 value as Camunda Modeler writes it."""
    text = text.strip()
    return bool(_ISO_DURATION.match(text) or _ISO_DATETIME.match(text) or _ISO_CYCLE.match(text))


def is_cron(text: str) -> bool:
    """A cron expression: Quartz's 6–7 fields (seconds first, as Camunda takes them) or Unix's 5."""
    return bool(_CRON.match(text.strip())) and not is_iso_literal(text)


def _now(my_task) -> datetime:
    return my_task.workflow.script_engine.now()


def _fail(my_task, message: str):
    return WorkflowTaskException(f"定时器 {my_task.task_spec.bpmn_id} 的时间值无效: {message}", task=my_task)


def _evaluate(my_task, expression: str) -> str:
    text = (expression or "").strip()
    literal = _unquoted(text)
    if is_iso_literal(literal) or is_cron(literal):
        return literal
    value = my_task.workflow.script_engine.evaluate(my_task, text)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return f"PT{int(value.total_seconds())}S"
    if not isinstance(value, str) or not value.strip():
        raise _fail(my_task, f"{text} → {value!r} (expected an ISO 8601 text or a cron expression)")
    return value.strip()


def _unquoted(text: str) -> str:
    return text[1:-1].strip() if len(text) >= 2 and text[0] in "\"'" and text[-1] == text[0] else text


class ClockedTimeDate(TimeDateEventDefinition):
    def has_fired(self, my_task):
        event_value = my_task._get_internal_data("event_value")
        if event_value is None:
            text = _evaluate(my_task, self.expression)
            try:
                event_value = in_range(as_utc(text)).isoformat()
            except (ValueError, OverflowError):
                raise _fail(my_task, f"{text} (a date between {EARLIEST_DUE.year} and {LATEST_DUE.year})") from None
            my_task._set_internal_data(event_value=event_value)
        if as_utc(event_value) <= _now(my_task):
            my_task._set_internal_data(event_fired=True)
        return my_task._get_internal_data("event_fired", False)


WORKING_DAYS = "working_days"  # a timer element's `tongban.calendar` property: its days are working days


class ClockedDuration(DurationTimerEventDefinition):
    def has_fired(self, my_task):
        event_value = my_task._get_internal_data("event_value")
        if event_value is None:
            text = _evaluate(my_task, self.expression)
            now = _now(my_task)
            try:
                parsed = TimerEventDefinition.parse_iso_duration(text)
                event_value = in_range(_due(my_task, parsed, now)).isoformat()
            except WorkflowTaskException:
                raise
            except Exception:
                raise _fail(my_task, text) from None
            # kept so a calendar change can count the same duration again from the same start (rescheduled())
            my_task._set_internal_data(event_value=event_value, event_started=now.isoformat(), event_duration=text)
        if as_utc(event_value) <= _now(my_task):
            my_task._set_internal_data(event_fired=True)
        return my_task._get_internal_data("event_fired", False)


def _due(my_task, parsed: dict, now: datetime) -> datetime:
    """When a duration started now ends; a timer that declares the working-day calendar skips rest days.

    `P2D` on such a timer set on a Friday afternoon is due on Tuesday afternoon (same time of day, two working
    days later on the calendar the service gives the engine as `script_engine.working_days(start, days)`).
    """
    extensions = element_properties(getattr(my_task.task_spec, "extensions", None))
    add_working_days = getattr(my_task.workflow.script_engine, "working_days", None)
    days = int(parsed.get("days", 0)) + 7 * int(parsed.get("weeks", 0))
    if extensions.get("tongban.calendar") != WORKING_DAYS or add_working_days is None or days == 0 \
            or parsed.get("years") or parsed.get("months"):
        return now + TimerEventDefinition.get_timedelta_from_start(parsed, now)
    rest = {k: v for k, v in parsed.items() if k not in ("days", "weeks")}
    start = add_working_days(now, days)
    return start + (TimerEventDefinition.get_timedelta_from_start(rest, start) if rest else timedelta(0))


def counts_working_days(task) -> bool:
    """A waiting duration timer whose days are working days: its due date follows the calendar."""
    definition = getattr(task.task_spec, "event_definition", None)
    return isinstance(definition, ClockedDuration) and element_properties(
        getattr(task.task_spec, "extensions", None)).get("tongban.calendar") == WORKING_DAYS


def rescheduled(task, started: datetime | None) -> datetime | None:
    """A working-day timer's due date counted again on the calendar as it is now, from when it started (kept on the
    task; `started` for a task armed before that was kept); None when it cannot be told."""
    if not counts_working_days(task) or task._get_internal_data("event_value") is None:
        return None
    began = task._get_internal_data("event_started")
    began = as_utc(began) if began else started
    text = task._get_internal_data("event_duration") or _evaluate(task, task.task_spec.event_definition.expression)
    if began is None:
        return None
    try:
        due = in_range(_due(task, TimerEventDefinition.parse_iso_duration(text), began))
    except Exception:
        return None  # it could be computed when armed; a value that no longer parses keeps its due date
    task._set_internal_data(event_value=due.isoformat(), event_started=began.isoformat(), event_duration=text)
    return due


def _first_cycle(my_task, expression: str, now: datetime) -> dict:
    """A cycle's state at its arming: its value evaluated and parsed, or the timer fails naming the value."""
    text = _evaluate(my_task, expression)
    try:
        return first_cycle(text, now)
    except Exception:
        raise _fail(my_task, text) from None


class ClockedCycle(CycleTimerEventDefinition):
    def cycle_complete(self, my_task):
        event_value = my_task._get_internal_data("event_value")
        now = _now(my_task)
        if event_value is None:
            event_value = _first_cycle(my_task, self.expression, now)
        ready = False
        if event_value["cycles"] != 0:
            next_event = datetime.fromisoformat(event_value["next"])
            if next_event <= now:
                try:
                    following = in_range(_following(event_value, next_event))
                except (ValueError, OverflowError):  # the cycle runs past the last date a timer may have: it ends
                    following, event_value["cycles"] = next_event, 1
                event_value["next"] = following.isoformat()
                event_value["cycles"] -= 1
                ready = True
        else:
            my_task.internal_data.pop("event_value", None)
            my_task.internal_data["event_fired"] = True
        my_task._set_internal_data(event_value=event_value)
        return ready


class ClockedStartCycle(TimerEventDefinition):
    """A cycle on a process's start event: each firing starts a case of its own (BPMN), never a loop inside one.

    In its case it fires once, at the cycle's next firing, as a date would: the start event completes and the
    path runs once. The service arms the case for the following firing with `next_start_cycle` (the cycle's
    state after this one: cycles left, next firing), given to `Case.start`.
    """

    def has_fired(self, my_task):
        if my_task._get_internal_data("event_fired", False):
            return True
        event_value = my_task._get_internal_data("event_value")
        now = _now(my_task)
        if event_value is None:
            event_value = _first_cycle(my_task, self.expression, now)
            my_task._set_internal_data(event_value=event_value)
        if event_value["cycles"] != 0 and datetime.fromisoformat(event_value["next"]) <= now:
            my_task._set_internal_data(event_fired=True)
        return my_task._get_internal_data("event_fired", False)


def next_start_cycle(state: dict, now: datetime) -> dict | None:
    """The state of a start cycle for the case after the one firing now; None when this firing is its last.

    Firings missed while no server ran are not made up one by one: the next case waits for the next one to come.
    """
    cycles = state.get("cycles", 0)
    if cycles in (0, 1):
        return None
    try:
        following = _following(state, datetime.fromisoformat(state["next"]))
        if following <= now:
            if "cron" in state:
                following = next_cron(state["cron"], now)
            else:
                period = timedelta(seconds=state["duration"])
                following += period * ((now - following) // period + 1)
        in_range(following)
    except (ValueError, OverflowError, KeyError, TypeError):
        return None
    return {**state, "cycles": cycles - 1 if cycles > 0 else -1, "next": following.isoformat()}


def first_cycle(text: str, now: datetime) -> dict:
    """The stored state of a cycle: cycles left (-1 = forever), next firing, and its period or cron."""
    if is_cron(text):
        return {"cycles": -1, "next": in_range(next_cron(text, now)).isoformat(), "cron": text}
    cycles, start, duration = parse_cycle(text, now)
    return {"cycles": cycles, "next": in_range(start).isoformat(), "duration": duration.total_seconds()}


def _following(event_value: dict, fired: datetime) -> datetime:
    if "cron" in event_value:
        return next_cron(event_value["cron"], fired)
    return fired + timedelta(seconds=event_value["duration"])


def next_cron(text: str, after: datetime) -> datetime:
    """The next firing of a cron expression after a moment, read in China Standard Time.

    Quartz (Camunda) writes seconds first and numbers weekdays 1–7 from Sunday; croniter takes seconds first
    when asked and weekdays 0–6, so Quartz's weekday field is shifted by one.
    """
    fields = text.split()
    if len(fields) >= 6:
        fields = fields[:6]  # Quartz's optional year field is not supported by croniter
        fields[5] = _quartz_weekdays(fields[5])
        expression, seconds_first = " ".join(fields), True
    else:
        expression, seconds_first = " ".join(fields), False
    local = after.astimezone(LOCAL_TZ)
    following = croniter(expression, local, second_at_beginning=seconds_first).get_next(datetime)
    return following.astimezone(UTC)


def _quartz_weekdays(field: str) -> str:
    return re.sub(r"\d+", lambda m: str((int(m.group()) - 1) % 7), field)


def parse_cycle(text: str, now: datetime) -> tuple[int, datetime, timedelta]:
    """R[n]/duration, R[n]/start/duration or R[n]/duration/end: cycles (-1 = forever), first firing, period.

    The period must be at least MIN_CYCLE_SECONDS (ValueError otherwise): `R/PT0S` would fire without end.
    """
    cycles, first, period = _parse_cycle(text, now)
    if period.total_seconds() < MIN_CYCLE_SECONDS:
        raise ValueError(f"the period of {text!r} is shorter than {MIN_CYCLE_SECONDS} s")
    if cycles < -1:
        raise ValueError(f"invalid repetition count in {text!r}")
    return cycles, first, period


def _parse_cycle(text: str, now: datetime) -> tuple[int, datetime, timedelta]:
    parts = text.upper().strip().lstrip("R").split("/")
    cycles = int(parts[0]) if parts[0] else -1
    if len(parts) == 2:
        duration = TimerEventDefinition.get_timedelta_from_start(
            TimerEventDefinition.parse_iso_duration(parts[1]), now)
        return cycles, now + duration, duration
    if len(parts) == 3 and parts[1].startswith("P"):
        end = as_utc(parts[2])
        duration = TimerEventDefinition.get_timedelta_from_end(TimerEventDefinition.parse_iso_duration(parts[1]), end)
        return cycles, end - duration, duration
    if len(parts) == 3:
        start = as_utc(parts[1])
        duration = TimerEventDefinition.get_timedelta_from_start(TimerEventDefinition.parse_iso_duration(parts[2]), start)
        return cycles, start, duration
    raise ValueError(f"invalid cycle {text!r}")


def timer_definition(kind: str, name: str, expression: str, description: str | None = None):
    """The clocked timer definition for a `timeDate`, `timeDuration` or `timeCycle` value (used by the parser)."""
    cls = {"timeDate": ClockedTimeDate, "timeDuration": ClockedDuration, "timeCycle": ClockedCycle}[kind]
    return cls(name, expression, description=description)


def start_cycle(definition):
    """A process start event's cycle becomes a start cycle (a case per firing); other definitions stay."""
    if isinstance(definition, ClockedCycle):
        return ClockedStartCycle(definition.name, definition.expression, description=definition.description)
    return definition


def event_definitions(definition):
    """An event definition and, for a multiple one (event-based gateway, several triggers), each inside it."""
    if definition is None:
        return
    yield definition
    for inner in getattr(definition, "event_definitions", None) or ():
        yield from event_definitions(inner)


def timers_of(definition):
    if isinstance(definition, MultipleEventDefinition):
        for d in definition.event_definitions:
            yield from timers_of(d)
    elif isinstance(definition, TimerEventDefinition):
        yield definition


def check_expression(timer: TimerEventDefinition, element: str, filename: str | None,
                     compile_check=None) -> None:
    """Refuse at deploy time a timer value that can never work; expressions are compiled, not run."""
    text = (timer.expression or "").strip()
    if not text:
        raise DefinitionError("定时器缺少时间表达式 (timer without a value)", filename=filename, element=element)
    literal = _unquoted(text)
    cycle = isinstance(timer, (CycleTimerEventDefinition, ClockedStartCycle))
    if is_cron(literal):
        if not cycle:
            raise DefinitionError(f"cron 表达式只能用于 timeCycle: {text}", filename=filename, element=element)
        try:
            next_cron(literal, datetime.now(UTC))
        except Exception:
            raise DefinitionError(f"cron 表达式无效: {text}", filename=filename, element=element) from None
        return
    if not is_iso_literal(literal) and not _ISO_LOOKALIKE.match(literal):
        problem = (compile_check or _python_syntax)(text)
        if problem:
            raise DefinitionError(f"定时器表达式无效: {text} ({problem})", filename=filename, element=element)
        return
    now = datetime.now(UTC)
    try:
        if cycle:
            cycles, first, period = _parse_cycle(literal, now)
            if period.total_seconds() < MIN_CYCLE_SECONDS:
                raise DefinitionError(f"循环定时器的周期必须至少 {MIN_CYCLE_SECONDS} 秒: {text} "
                                      f"(a cycle needs a positive period)", filename=filename, element=element)
            in_range(first)
        elif literal.upper().startswith("P"):
            parsed = TimerEventDefinition.parse_iso_duration(literal)
            in_range(now + TimerEventDefinition.get_timedelta_from_start(parsed, now))
        else:
            in_range(as_utc(literal))
    except DefinitionError:
        raise
    except Exception:
        raise DefinitionError(f"定时器时间值无效: {text}（日期须在 {EARLIEST_DUE.year} 至 {LATEST_DUE.year} 年之间）",
                              filename=filename, element=element) from None


def _python_syntax(text: str) -> str | None:
    try:
        compile(text, "<timer>", "eval")
    except SyntaxError:
        return "neither ISO 8601, cron nor an expression"
    return None


def timer_due(task) -> datetime | None:
    """When a waiting timer task next fires, from the value SpiffWorkflow keeps in the task."""
    value = task._get_internal_data("event_value")
    if value is None:
        return None
    if isinstance(value, dict):
        if value.get("cycles") == 0:
            return None
        value = value.get("next")
    return as_utc(value)


def is_timer_task(task) -> bool:
    definition = getattr(task.task_spec, "event_definition", None)
    return definition is not None and any(True for _ in timers_of(definition))


def waiting_timer_tasks(workflow):
    """The tasks of a case (its subprocesses included) that wait on a timer."""
    for task in workflow.get_tasks(state=TaskState.WAITING):
        if is_timer_task(task):
            yield task
