"""How the runtime raises hooks with its contexts (`StartContext`, `StepResult`: declared in `app/hookspecs.py`).

`runtime.save` builds one `StepResult` per saved step — the case row, its snapshot before and after, the user
task that was completed with the data submitted, and the engine steps taken — and raises `step_before_flush`,
`step_new_tasks` and `step_after_flush` with it, in the same transaction. A plugin reads what the diagram declares
on the elements involved (`step.process.element_properties(element_id)`) and writes its own rows; raising an
`ApiError` refuses the whole step. The case row belongs to the runtime: a plugin reads it and, on the first
step only (`is_new`), may say whose department the case is; it keeps everything else in its own tables.
"""

from __future__ import annotations

from datetime import datetime

from ..engine.compiler import CompiledProcess
from ..hookspecs import StartContext, StepResult
from ..plugins import hooks

__all__ = ["StartContext", "StepResult", "shared_outputs"]


def shared_outputs(process: CompiledProcess, element_id: str, data: dict, actor: str | None,
                   at: datetime) -> dict | None:
    """What a completed task hands to the shared data: the last plugin that decides wins, else None."""
    answers = hooks().submission_outputs(process=process, element_id=element_id, data=data, actor=actor, at=at)
    return answers[-1] if answers else None
