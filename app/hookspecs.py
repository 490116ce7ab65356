"""The extension points of the runtime, declared in one table (pluggy hook specifications).

The runtime (definitions, instances, tasks, timers, messages) raises these hooks and knows nothing of who answers
them; plugins — people (posts, AB岗), the calendar, the matter catalog, the hall wing — implement them. Each hook
gets a typed context (the dataclasses below), never a made-up attribute on an ORM row.

Plugins are registered per app, in the order `app/plugins.py` declares, and called in that order. Every hook runs
in the caller's transaction: raising an `ApiError` refuses the whole operation and nothing is stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pluggy

from .engine.case import OpenUserTask, Snapshot, Step
from .engine.compiler import CompiledProcess

if TYPE_CHECKING:
    from flask import Flask
    from lxml import etree

PROJECT = "tongban"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# -- the contexts ----------------------------------------------------------------------------------------------------
@dataclass
class StartContext:
    """A case about to start: what the caller asked for, for `case_starting` plugins to check and prepare."""

    definition_id: int
    process_key: str
    version: int
    process: CompiledProcess
    data: dict[str, Any]
    business_key: str | None
    actor: str | None
    applicant: Any = None  # as the request gave it; a plugin replaces it with what it validated
    department_code: str | None = None  # whose case this is (people.access): a plugin says
    extras: dict[str, Any] = field(default_factory=dict)  # what plugins carry to their own later hooks


@dataclass
class StepResult:
    instance: Any  # the ProcessInstance row (the runtime's)
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
    start: StartContext | None = None  # the case's first step: how it was started
    details: dict[str, Any] = field(default_factory=dict)  # what the caller said of the act (a cancel's reason)
    answer: dict[str, Any] = field(default_factory=dict)  # what plugins add to the caller's answer (a query code)
    plugin_rows: dict[str, Any] = field(default_factory=dict)  # a plugin's own notes between its hooks of a step

    @property
    def is_new(self) -> bool:
        return self.start is not None

    @property
    def case_id(self) -> str:
        return self.instance.id


# -- cases (app/instances) -------------------------------------------------------------------------------------------
@hookspec
def case_starting(start: StartContext) -> None:
    """Before a case starts (before the engine runs): refuse it (409/422) or prepare it — validate the applicant,
    check the matter is offered, say whose department the case is (`start.department_code`)."""


@hookspec
def step_before_flush(step: StepResult) -> None:
    """A step was taken and the case row is about to be written: a plugin writes its own rows (the case clock,
    ownership, numbers) or refuses the step. `step.is_new`: the case's first step (its start)."""


@hookspec
def step_new_tasks(step: StepResult, rows: list[dict]) -> None:
    """The step opens user tasks: the rows (dicts) before they are inserted, for a plugin to route (`post`),
    assign (`assignee`, `claimed_at`), rank (`priority`: higher first in a post's list) — and to remember what it
    needs in `step.plugin_rows`."""


@hookspec
def step_after_flush(step: StepResult) -> None:
    """The step's case row and task, timer and subscription rows are written: a plugin adds rows that refer to
    them (intake, notices, the case's legal course)."""


@hookspec
def course_ended(process: CompiledProcess, steps: list[Step], snapshot: Snapshot) -> bool:
    """The step reached the end of the case's main course while some branches still run (escalations): a plugin
    answering True ends them with it, and the case is complete."""


@hookspec
def submission_outputs(process: CompiledProcess, element_id: str, data: dict, actor: str | None,
                       at: datetime) -> dict | None:
    """What a completed task hands to the case's shared data instead of the whole submission, or None (the
    diagram decides). The last plugin that answers wins; a plugin may refuse the submission (Invalid)."""


@hookspec
def task_prefill(task: Any, case: Any, properties: dict[str, str]) -> dict | None:
    """Values a task's form starts from (GET /tasks/{id} shows them as `prefill`)."""


@hookspec
def task_defaults(task: Any, case: Any, properties: dict[str, str]) -> dict | None:
    """Values a completion takes when the clerk leaves them out (the clerk's values win)."""


@hookspec
def tasks_migrated(instance: Any, rows: list[dict], at: datetime) -> None:
    """Open task rows whose element changed in a migration of the case to another version (`rows`: id,
    element_id, home_post and the values about to be written): a plugin routes them as it routes new tasks."""


@hookspec
def events_thrown(outbox: list, source: tuple) -> None:
    """After a step's commit: the messages and signals the case threw, for whoever delivers them to other cases."""


@hookspec(firstresult=True)
def working_days(start: datetime, days: int) -> datetime | None:
    """The moment `days` working days after `start` (engine timers declaring `tongban.calendar=working_days`)."""


# -- deployments (app/definitions) -----------------------------------------------------------------------------------
@hookspec(firstresult=True)
def deploy_file_kind(filename: str) -> str | None:
    """A plugin claims a file of an upload by name (the matter catalog: `*.yaml` records) and names its kind."""


@hookspec(firstresult=True)
def deploy_file(kind: str, filename: str, content: bytes, actor: str | None, changelog: str | None) -> dict | None:
    """Store a file the plugin claimed (inside the upload's savepoint); returns what the report shows of it.
    `changelog`: the deployment's note (a changed matter record keeps it as its version's reason)."""


@hookspec
def deploy_checks(processes: list[CompiledProcess], tree: etree._ElementTree | None, filename: str,
                  options: dict) -> list[dict]:
    """Problems of a diagram about to be deployed (`code`, `file`, `line`, `element`, `message`); a problem with
    `"severity": "warning"` is reported, any other refuses the file."""


@hookspec
def definitions_deployed(deployed: list) -> None:
    """After a deployment's commit: (definition, created) of every version stored."""


# -- the server (app/timers/scheduler) ------------------------------------------------------------------------------
@hookspec
def scheduled_jobs(app: Flask) -> list[tuple[str, Any, float]]:
    """Periodic work: (name, function, seconds between runs); each run in an app context of its own."""


@hookspec
def constraint_conflicts() -> list[tuple[str, str, str, tuple[str, ...]]]:
    """Unique indexes that guard a rule: (index name, error code, message, columns) — a writer losing the race
    at the index gets that 409 instead of a 500."""


# -- the domain (app/calendar, app/matters) ------------------------------------------------------------------------
@hookspec
def calendar_changed(days: list, actor: str | None, at: datetime) -> None:
    """Working days were entered or corrected (in the caller's transaction): whoever keeps dates counted on them
    brings them up to date."""
