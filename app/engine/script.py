"""The script engine every case runs with: SpiffWorkflow's Python engine plus the service's clock.

Script tasks and conditions run arbitrary Python (SpiffWorkflow's default environment), which is why only
analysts and ops may deploy. A sandbox would replace the environment here.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timezone

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


class ClockedScriptEngine(PythonScriptEngine):
    """Carries the clock that timers read, so tests and replays can move time."""

    def __init__(self, clock: Clock = system_clock) -> None:
        super().__init__(environment=TaskDataEnvironment({"datetime": datetime, "timezone": timezone}))
        self.now = clock
