"""Bounded engine work: what one engine run (a start, a completion, a timer, a message) may take.

SpiffWorkflow runs a case's automatic steps in the server's own thread until only people, timers or messages
are left. A diagram can make that never end (a call activity that calls itself, a timer cycle with no period)
or grow without bound (thousands of parallel branches, a multi-instance from a huge collection). Every run
gets a budget of steps and of wall-clock seconds; a case holds at most so many open branches and instances;
called processes nest at most so deep; a case's stored state has a size limit. Going past one raises
`LimitExceeded` naming the element and the limit, and the step is rolled back like any failed step.

The limits travel on the case's script engine (`engine_limits`), where the specs that need them (called
processes, multi-instance tasks) find them; the service builds them from its configuration.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from .errors import CaseFailed


@dataclass(frozen=True)
class EngineLimits:
    max_steps: int = 10_000  # automatic steps in one run
    max_seconds: float = 10.0  # wall clock of one run
    max_call_depth: int = 10  # called processes inside called processes
    max_branches: int = 1_000  # open tasks and waits of one case at once (parallel branches, instances)
    max_instances: int = 500  # instances of one multi-instance activity
    max_state_bytes: int = 4 * 1024 * 1024  # a case's stored engine state (its data included), as JSON
    min_cycle_seconds: float = 1.0  # the shortest period a repeating timer may have

    def __post_init__(self) -> None:
        for name in ("max_steps", "max_call_depth", "max_branches", "max_instances", "max_state_bytes"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if not self.max_seconds > 0:
            raise ValueError("max_seconds must be positive")
        if not self.min_cycle_seconds > 0:
            raise ValueError("min_cycle_seconds must be positive")


DEFAULT_ENGINE_LIMITS = EngineLimits()

# kinds of LimitExceeded; the runaway ones stop the case as an incident (ops look), the others are the data's
RUNAWAY = ("steps", "seconds", "depth", "branches")


class LimitExceeded(CaseFailed):
    """A run went past one of the engine's limits. `kind`: steps | seconds | depth | branches | instances | state."""

    def __init__(self, message: str, element: str | None = None, *, kind: str, limit: float) -> None:
        super().__init__(message, element)
        self.kind = kind
        self.limit = limit
        self.instance_id: str | None = None  # set by the case that ran, when the service told it its id

    @property
    def incident(self) -> bool:
        """A runaway diagram (a loop, a recursion, unbounded branches) rather than a value a person can correct."""
        return self.kind in RUNAWAY


def limits_of(my_task) -> EngineLimits:
    """The limits of the case a task belongs to (its top workflow's script engine carries them)."""
    engine = my_task.workflow.top_workflow.script_engine
    return getattr(engine, "engine_limits", None) or DEFAULT_ENGINE_LIMITS


def element_of(task) -> str | None:
    spec = getattr(task, "task_spec", None)
    return getattr(spec, "bpmn_id", None) or getattr(spec, "name", None)


class Budget:
    """Counts one run's steps against its limits; `step(task)` is called before each automatic step."""

    def __init__(self, limits: EngineLimits) -> None:
        self.limits = limits
        self.steps = 0
        self.deadline = time.monotonic() + limits.max_seconds

    def step(self, task) -> None:
        self.steps += 1
        if self.steps > self.limits.max_steps:
            raise LimitExceeded(
                f"流程自动执行超过 {self.limits.max_steps} 步，已停止（多为循环或递归）"
                f" (the run took more than {self.limits.max_steps} steps)",
                element_of(task), kind="steps", limit=self.limits.max_steps)
        self.check_time(task)

    def check_time(self, task=None) -> None:
        if time.monotonic() > self.deadline:
            raise LimitExceeded(
                f"流程自动执行超过 {self.limits.max_seconds:g} 秒，已停止"
                f" (the run took longer than {self.limits.max_seconds:g} s)",
                element_of(task) if task is not None else None, kind="seconds", limit=self.limits.max_seconds)


def check_branches(open_count: int, limits: EngineLimits, element: str | None) -> None:
    if open_count > limits.max_branches:
        raise LimitExceeded(
            f"办件同时进行的分支和等待超过 {limits.max_branches} 个，已停止"
            f" (more than {limits.max_branches} open tasks and waits in one case)",
            element, kind="branches", limit=limits.max_branches)


def check_instances(count: int, limits: EngineLimits, element: str | None) -> None:
    if count > limits.max_instances:
        raise LimitExceeded(
            f"多实例活动 {element} 的实例数 {count} 超过上限 {limits.max_instances}"
            f" (a multi-instance activity of more than {limits.max_instances} instances)",
            element, kind="instances", limit=limits.max_instances)


def check_state_size(size: int, limits: EngineLimits) -> None:
    if size > limits.max_state_bytes:
        mb = limits.max_state_bytes / (1024 * 1024)
        raise LimitExceeded(
            f"办件数据过大（{size / (1024 * 1024):.1f} MB，上限 {mb:g} MB），未保存"
            f" (the case's state is larger than {mb:g} MB)",
            None, kind="state", limit=limits.max_state_bytes)
