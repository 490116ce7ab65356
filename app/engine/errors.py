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
    """A script, condition or expression failed while the engine ran the case."""

    def __init__(self, message: str, element: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.element = element
