"""Messages as a plugin of the runtime: what a case throws reaches the cases that wait for it."""

from __future__ import annotations

from ..hookspecs import StepResult, hookimpl
from . import correlation, service


@hookimpl
def step_after_flush(step: StepResult) -> None:
    correlation.sync_correlations(step)


@hookimpl
def events_thrown(outbox: list, source: tuple) -> None:
    service.route_thrown(outbox, source)
