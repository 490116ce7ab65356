"""Step hooks: how the hall (and any other plugin) gives meaning to a case's steps without the runtime knowing it.

`runtime.save` builds one `StepResult` per saved step — the case row, its snapshot before and after, the user
task that was completed with the data submitted, and the engine steps taken — and hands it to every hook
registered here, in the same transaction. A hook reads what the diagram declares on the elements involved
(`result.process.element_properties(element_id)`) and writes its own rows; raising an `ApiError` refuses the
whole step. Hooks run in registration order: `before_flush` ones may still change the case row (its clock,
owner, due date), `after_flush` ones see the task and timer rows the step wrote.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..engine.case import OpenUserTask, Snapshot, Step
from ..engine.compiler import CompiledProcess


@dataclass
class StepResult:
    instance: Any  # the ProcessInstance row
    process: CompiledProcess
    before: Snapshot
    after: Snapshot
    steps: list[Step]
    at: datetime
    actor: str | None
    action: str
    completed: OpenUserTask | None = None  # the user task this step completed
    submitted: dict[str, Any] = field(default_factory=dict)  # the data it was completed with
    new_tasks: list[dict] = field(default_factory=list)  # task rows written (after_flush hooks only)
    audit: list[dict] = field(default_factory=list)  # audit entries hooks add, written with the step's own


StepHook = Callable[..., None]
# before_flush(result), new_tasks(result, rows) — rows of the step's new tasks, before they are inserted, for a
# hook to route, assign, prioritise — and after_flush(result)
_hooks: dict[str, list[tuple[str, StepHook]]] = {"before_flush": [], "new_tasks": [], "after_flush": []}


def register(name: str, hook: StepHook, *, when: str = "after_flush") -> None:
    """Register a hook once under a name (registering the same name again replaces it)."""
    hooks = _hooks[when]
    hooks[:] = [(n, h) for n, h in hooks if n != name]
    hooks.append((name, hook))


def run(when: str, result: StepResult, *args) -> None:
    for _, hook in _hooks[when]:
        hook(result, *args)


def registered(when: str) -> list[str]:
    return [name for name, _ in _hooks[when]]


# -- submissions: what a completed task hands to the case's shared data ----------------------------------------
# (process, element id, submitted data, actor, at) -> the shared-data updates instead of the whole submission, or
# None (the diagram decides: its declared outputs, else everything). A hook may refuse the submission (Invalid).
SubmissionHook = Callable[[CompiledProcess, str, dict, "str | None", datetime], "dict | None"]
_submission_hooks: dict[str, SubmissionHook] = {}


def register_submission(name: str, hook: SubmissionHook) -> None:
    _submission_hooks[name] = hook


def shared_outputs(process: CompiledProcess, element_id: str, data: dict, actor: str | None,
                   at: datetime) -> dict | None:
    """Ask every submission hook; the last one that decides wins (hooks of one plugin do not overlap)."""
    decided = None
    for hook in _submission_hooks.values():
        answer = hook(process, element_id, data, actor, at)
        if answer is not None:
            decided = answer
    return decided

