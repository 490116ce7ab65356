"""Errors the engine raises; the service layer turns them into API errors."""

from __future__ import annotations


class EngineError(Exception):
    """Base of the engine's errors."""


class DefinitionError(EngineError):
    """A BPMN/DMN file that cannot be deployed: malformed, invalid or unsupported."""

    def __init__(self, message: str, *, filename: str | None = None, line: int | None = None,
                 element: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.filename = filename
        self.line = line
        self.element = element

    def details(self) -> dict:
        return {k: v for k, v in
                {"file": self.filename, "line": self.line, "element": self.element}.items()
                if v is not None}


class TaskNotReady(EngineError):
    """The task is not waiting for a person (already done, cancelled or unknown to the case)."""


class CaseFailed(EngineError):
    """A script, condition or expression failed while the engine ran the case.

    `code` says why: `case_failed` (the diagram's own logic: a script, a condition), or one of `INCIDENT_CODES`,
    which no caller can fix by sending other data — the service keeps those as incidents for ops.
    """

    def __init__(self, message: str, element: str | None = None, *, code: str = "case_failed",
                 details: dict | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.element = element
        self.code = code
        self.details = dict(details or {})


# The case's new state holds something that is not JSON; a business-rule task's decision is not deployed.
INCIDENT_CODES = frozenset({"case_not_saved", "decision_not_deployed"})
