"""The engine's limits from the configuration, and what a run that went past one means to the caller.

A run past a limit (`engine.budget.LimitExceeded`) is rolled back like any failed step. A runaway one — too many
steps, too long, called processes nested too deep, too many branches — also stops its case as an incident
(state `error`, `GET /incidents` kind `failed_step`, an ERROR log line and an `engine.limit_exceeded` audit
entry) so ops look at the diagram; the caller gets 422 `limit_exceeded` naming the element either way.
A timer's run past a limit is a failed attempt like any other (timers.service), an incident after its retries.
"""

from __future__ import annotations

import logging

from flask import Flask, current_app

from ..audit import service as audit
from ..engine.budget import EngineLimits, LimitExceeded
from ..engine.errors import CaseFailed
from ..errors import Invalid, error_body
from ..extensions import db

log = logging.getLogger(__name__)
_cache: dict[tuple, EngineLimits] = {}


def engine_limits() -> EngineLimits:
    """The limits of this app's configuration (TONGBAN_ENGINE_MAX_STEPS, ..._SECONDS, ...: README)."""
    config = current_app.config
    key = (config["ENGINE_MAX_STEPS"], config["ENGINE_MAX_SECONDS"], config["ENGINE_MAX_CALL_DEPTH"],
           config["ENGINE_MAX_BRANCHES"], config["ENGINE_MAX_INSTANCES"], config["CASE_MAX_STATE_BYTES"])
    limits = _cache.get(key)
    if limits is None:
        limits = _cache[key] = EngineLimits(max_steps=key[0], max_seconds=key[1], max_call_depth=key[2],
                                            max_branches=key[3], max_instances=key[4], max_state_bytes=key[5])
    return limits


def refused(exc: LimitExceeded) -> Invalid:
    """The 422 for a run past a limit; a runaway run's case becomes an incident first (its own transaction)."""
    db.session.rollback()
    incident = _record_incident(exc) if exc.incident else None
    if exc.incident and incident is None:  # no case yet (a start): the log line and the audit entry remain
        audit.record("engine.limit_exceeded", actor=None, element_id=exc.element,
                     details={"kind": exc.kind, "limit": exc.limit, "error": exc.message})
        db.session.commit()
        log.error("engine limit exceeded at %s (nothing stored): %s", exc.element, exc.message,
                  extra={"element": exc.element})
    after = "；办件已暂停，记为事件待运维处理" if incident else "；未保存任何更改"
    return Invalid(f"流程执行超出限制: {exc.message}{after}",
                   {"element": exc.element, "kind": exc.kind, "limit": exc.limit, "incident": incident,
                    "instance_id": exc.instance_id},
                   code="limit_exceeded")


def _record_incident(exc: LimitExceeded) -> str | None:
    from . import runtime
    from .models import ProcessInstance

    if exc.instance_id is None:
        return None
    try:
        instance: ProcessInstance | None = runtime.lock(exc.instance_id)
        if instance is None or instance.state not in ("running", "error"):
            db.session.rollback()
            return None
        where = f" [{exc.element}]" if exc.element else ""
        instance.state, instance.error = "error", f"{exc.message}{where}"
        audit.record("engine.limit_exceeded", actor=None, instance_id=instance.id, element_id=exc.element,
                     details={"kind": exc.kind, "limit": exc.limit, "error": exc.message})
        db.session.commit()
    except Exception:  # the caller's 422 stands; the log says why no incident was recorded
        db.session.rollback()
        log.exception("could not record the incident of case %s", exc.instance_id)
        return None
    incident = f"case-{exc.instance_id}"
    log.error("incident %s: case %s stopped at %s: %s", incident, exc.instance_id, exc.element, exc.message,
              extra={"case_id": exc.instance_id, "incident": incident, "element": exc.element})
    return incident


def register(app: Flask) -> None:
    """A case failure that reaches a view unconverted (a state too large to store, say) is the caller's 422."""

    @app.errorhandler(CaseFailed)
    def _case_failed(exc: CaseFailed):
        from flask import jsonify

        from .service import case_failed

        error = case_failed(exc) if not isinstance(exc, LimitExceeded) else refused(exc)
        db.session.rollback()
        response = jsonify(error_body(error.code, error.message, error.details))
        response.status_code = error.status
        return response
