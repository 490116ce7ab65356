"""Steps refused for a reason their caller cannot fix, kept as incidents for ops (`step-<id>`).

A case whose new state cannot be stored (the engine left something in it that is not JSON), or that reaches a
business-rule task whose decision is not deployed, does not move: the caller gets a 422 naming the reason and the
incident, the case stays exactly as it was stored, and `GET /incidents` lists the step until the case moves on
(a later step went through: its row's version is past the one the refused step started from) or ops resolve it.
Nothing is written on a successful step: an incident is over when its case's version says so.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa

from ..clock import now
from ..engine.errors import INCIDENT_CODES, CaseFailed
from ..errors import Invalid
from ..extensions import db
from .incident_models import StepIncident
from .models import ProcessInstance

log = logging.getLogger(__name__)


def is_incident(exc: Exception) -> bool:
    return isinstance(exc, CaseFailed) and exc.code in INCIDENT_CODES


def record(exc: CaseFailed, *, instance_id: str | None, case_version: int | None, process_key: str | None,
           action: str, actor: str | None) -> Invalid:
    """Keep the refused step (in a transaction of its own, after rolling back the step); returns the 422 to raise.

    The same step refused again (same case and version, element and reason) counts on the open incident.
    """
    db.session.rollback()  # nothing of the refused step stays (the callers have rolled back already, mostly)
    at = now()
    query = sa.select(StepIncident).where(StepIncident.state == "open", StepIncident.code == exc.code,
                                          StepIncident.element_id == exc.element)
    if instance_id is not None:
        query = query.where(StepIncident.instance_id == instance_id, StepIncident.case_version == case_version)
    else:
        query = query.where(StepIncident.instance_id.is_(None), StepIncident.process_key == process_key)
    try:
        incident = db.session.scalar(query.limit(1))
        if incident is None:
            incident = StepIncident(instance_id=instance_id, case_version=case_version, process_key=process_key,
                                    element_id=exc.element, code=exc.code, action=action, error=exc.message,
                                    details=dict(exc.details), actor=actor, attempts=1, first_at=at, last_at=at,
                                    state="open")
            db.session.add(incident)
        else:
            incident.attempts += 1
            incident.last_at, incident.error, incident.actor, incident.action = at, exc.message, actor, action
        db.session.flush()
        incident_id: str | None = f"step-{incident.id}"
        db.session.commit()
    except Exception:  # the refusal stands even if its record cannot be written (a busy database)
        db.session.rollback()
        log.exception("step incident of case %s (%s) could not be recorded", instance_id, exc.code)
        incident_id = None
    log.error("incident %s: %s of case %s at %s refused: %s", incident_id, action, instance_id or process_key,
              exc.element, exc.message, extra={"case_id": instance_id, "incident": incident_id,
                                                "element": exc.element})
    details = {"element": exc.element, "incident_id": incident_id, **exc.details}
    return Invalid(f"流程无法继续: {exc.message}", details, code=exc.code)


def open_query():
    """Open step incidents: not resolved, and their case (if any) has not moved on since."""
    moved_on = sa.exists().where(ProcessInstance.id == StepIncident.instance_id,
                                 ProcessInstance.version > StepIncident.case_version)
    return sa.select(StepIncident).where(StepIncident.state == "open", ~moved_on)


def as_incident(row: StepIncident) -> dict:
    return {"id": f"step-{row.id}", "kind": "refused_step", "instance_id": row.instance_id,
            "process_key": row.process_key, "element_id": row.element_id, "name": row.details.get("decision"),
            "error": row.error, "attempts": row.attempts, "since": row.first_at, "actions": ["resolve"],
            "code": row.code}


def search(instance_id: str | None, cap: int, scope=None) -> list[dict]:
    """Open ones, newest first; `scope`: the condition of the cases the caller may see (a start that made no case
    is ops' and admins' only: `scope` None)."""
    query = open_query().order_by(StepIncident.id.desc()).limit(cap)
    if instance_id:
        query = query.where(StepIncident.instance_id == instance_id)
    if scope is not None:
        query = query.where(StepIncident.instance_id.in_(sa.select(ProcessInstance.id).where(scope)))
    return [as_incident(row) for row in db.session.scalars(query)]


def get_open(ref: str) -> StepIncident | None:
    if not ref.isdigit():
        return None
    return db.session.scalar(open_query().where(StepIncident.id == int(ref)))


def resolve(row: StepIncident, actor: str | None, note: str | None) -> None:
    row.state, row.resolved_at, row.resolved_by, row.note = "resolved", now(), actor, note
