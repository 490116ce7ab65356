"""The script engine every case runs with: SpiffWorkflow's Python engine, sandboxed, plus the service's clock.

Script tasks, pre/post scripts, conditions, timer and other expressions all go through the sandbox
(`sandbox.py`): a restricted language in a worker process with time and memory limits. A script that breaks a
rule, fails or runs out of its limits raises `CaseFailed` with the element and the reason; only its case stops.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine

from .errors import CaseFailed
from .sandbox import DEFAULT_LIMITS, SandboxEnvironment, SandboxLimits

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


class ClockedScriptEngine(PythonScriptEngine):
    """Carries the clock that timers read, so tests and replays can move time; evaluates in the sandbox."""

    def __init__(self, clock: Clock = system_clock, *, limits: SandboxLimits = DEFAULT_LIMITS) -> None:
        super().__init__(environment=SandboxEnvironment(limits))
        self.now = clock

    @property
    def limits(self) -> SandboxLimits:
        return self.environment.limits

    @limits.setter
    def limits(self, limits: SandboxLimits) -> None:
        self.environment.limits = limits

    def evaluate(self, task, expression, external_context=None):
        try:
            return self.environment.evaluate(expression, task.data, external_context)
        except CaseFailed as exc:
            raise CaseFailed(exc.message, exc.element or _element(task)) from None

    def execute(self, task, script, external_context=None):
        try:
            return self.environment.execute(script, task.data, external_context or {})
        except CaseFailed as exc:
            raise CaseFailed(exc.message, exc.element or _element(task)) from None

    def call_service(self, task, **kwargs):
        raise CaseFailed("不支持服务任务 (service tasks are not supported)", _element(task))


def _element(task) -> str | None:
    spec = getattr(task, "task_spec", None)
    return getattr(spec, "bpmn_id", None) or getattr(spec, "name", None)
