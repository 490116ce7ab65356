"""The runtime's own answer to deployments: a new version whose process starts on a timer gets its waiting case."""

from __future__ import annotations

from ..hookspecs import hookimpl
from . import service


@hookimpl
def definitions_deployed(deployed: list) -> None:
    service.arm_timer_starts(deployed)
