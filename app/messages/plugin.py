"""Messages as a plugin of the runtime: what a case throws reaches the cases that wait for it."""

from __future__ import annotations

from ..hookspecs import hookimpl
from . import service


@hookimpl
def events_thrown(outbox: list, source: tuple) -> None:
    service.route_thrown(outbox, source)
