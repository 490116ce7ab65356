"""Corrections at the window, each with a reason and an audit entry:

* 更正申请人 — the applicant's record as received is corrected, until the case is accepted (a 受理/不予受理 notice
  issued, or the case closed): the intake's own checks (422, Chinese, per field), the old and new record in
  the audit trail. By those who handle the case (people.access.handles) at a window or as its supervisor.
* 撤件 — a case received in error, or withdrawn at the applicant's request: the case ends (cancelled, its tasks
  and timers with it) and a 撤件登记 is issued recording who asked, when and why, with the applicant's signature
  line. By the clerk who received it, or a supervisor of its department (中心督查, admin).

The case row is locked first, as every writer of a case does (instances.runtime.lock), so a correction and the
acceptance never pass each other.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from ...audit import service as audit
from ...clock import SHANGHAI, as_utc, now
from ...errors import Conflict, Forbidden, Invalid
from ...extensions import db
from ...instances import runtime
from ...instances import service as instances
from ...instances.models import ProcessInstance
from ...people import access
from ...people.auth import Principal
from .. import intake
from ..documents import service as documents
from ..documents.models import Document
from ..models import CaseIntake
from ..vocabulary import Outcome
from . import fields as hall

# notices that mean the window has decided on the application: no correcting the applicant after them
DECIDED = ("acceptance", str(Outcome.NOT_ACCEPTED), "refusal", "completion")
WITHDRAWAL = "withdrawal"
MAX_REASON = 1000


def _reason(reason: Any, field: str = "reason") -> str:
    text = reason.strip() if isinstance(reason, str) else ""
    if not text:
        raise Invalid("请填写理由", {"errors": [{"field": field, "message": "请填写理由"}]})
    if len(text) > MAX_REASON:
        raise Invalid(f"理由不能超过 {MAX_REASON} 个字", {"errors": [{"field": field,
                                                                  "message": f"理由不能超过 {MAX_REASON} 个字"}]})
    return text


def _locked(instance_id: str) -> ProcessInstance:
    instance = runtime.lock(instance_id)
    if instance is None:
        raise access.not_found(instance_id)
    return instance


def _kinds_issued(instance_id: str) -> set[str]:
    return set(db.session.scalars(sa.select(Document.kind).where(Document.instance_id == instance_id)))


def is_withdrawn(instance_ids: list[str]) -> set[str]:
    """Which of these cases were withdrawn (撤件): one query."""
    if not instance_ids:
        return set()
    return set(db.session.scalars(sa.select(Document.instance_id).where(
        Document.instance_id.in_(instance_ids), Document.kind == WITHDRAWAL)))


# -- who may ---------------------------------------------------------------------------------------------------
def may_correct(user: Principal, instance: ProcessInstance) -> bool:
    return user.is_("admin") or (user.has_role("clerk", "supervisor") and access.handles(user, instance))


def may_withdraw(user: Principal, instance: ProcessInstance) -> bool:
    return (user.username == instance.started_by and user.has_role("clerk", "supervisor")) \
        or access.manages_department(user, instance.department_code)


def correctable(instance: ProcessInstance) -> str | None:
    """Why the applicant can no longer be corrected, or None."""
    if instance.state != "running":
        return "办件已结束，不能更正申请人"
    if _kinds_issued(instance.id) & set(DECIDED):
        return "办件已受理（或已作出不予受理决定），申请人信息不能再更正"
    return None


# -- 更正申请人 ------------------------------------------------------------------------------------------------
def correct_applicant(user: Principal, instance_id: str, applicant: Any, reason: Any) -> dict:
    """The corrected applicant (as the API shows it); 404 for a case the user may not see, 403 for one they do
    not handle, 409 once accepted or closed, 422 for an invalid record or no reason."""
    instance = access.visible_case(user, instance_id)
    if not may_correct(user, instance):
        raise Forbidden("只有经办该办件的窗口人员或本部门督查人员可以更正申请人", {"instance_id": instance_id})
    record = intake.validate_applicant(applicant)
    why = _reason(reason)
    instance = _locked(instance_id)
    refused = correctable(instance)
    if refused:
        db.session.rollback()
        raise Conflict(refused, {"instance_id": instance_id, "state": instance.state}, code="not_correctable")
    row = db.session.get(CaseIntake, instance_id)
    if row is None:
        row = CaseIntake(instance_id=instance_id, received_materials=[], missing_materials=[])
        db.session.add(row)
    before = intake.applicant_of(row)
    agent = record.get("agent") or {}
    row.applicant_kind, row.applicant_name = record["kind"], record["name"]
    row.id_type, row.id_number, row.phone = record["id_type"], record["id_number"], record["phone"]
    row.address, row.legal_representative = record.get("address"), record.get("legal_representative")
    row.agent_name, row.agent_id_type = agent.get("name"), agent.get("id_type")
    row.agent_id_number, row.agent_phone = agent.get("id_number"), agent.get("phone")
    audit.record("intake.applicant_corrected", actor=user.username, instance_id=instance_id,
                 details={"reason": why, "before": before, "after": intake.applicant_of(row)})
    db.session.commit()
    return intake.applicant_of(row)


# -- 撤件 -------------------------------------------------------------------------------------------------------
def withdraw(user: Principal, instance_id: str, reason: Any, requested_by: Any = None,
             requested_on: dt.date | None = None, note: Any = None) -> tuple[ProcessInstance, Document]:
    """End a case received in error or withdrawn at the applicant's request, with a 撤件登记; 404 for a case the
    user may not see, 403 for one they may not withdraw, 409 once it has ended, 422 without a reason."""
    instance = access.visible_case(user, instance_id)
    if not may_withdraw(user, instance):
        raise Forbidden("只有收件的窗口人员或本部门督查人员可以撤件", {"instance_id": instance_id,
                                                          "received_by": instance.started_by})
    why = _reason(reason)
    who = requested_by.strip() if isinstance(requested_by, str) and requested_by.strip() else None
    if who is not None and len(who) > 100:
        raise Invalid("提出人不能超过 100 个字", {"errors": [{"field": "requested_by", "message": "不能超过 100 个字"}]})
    remark = note.strip()[:MAX_REASON] if isinstance(note, str) and note.strip() else None
    instance = _locked(instance_id)
    if instance.state in ("completed", "cancelled"):
        db.session.rollback()
        raise Conflict(f"办件已{'办结' if instance.state == 'completed' else '撤销'}，不能撤件",
                       {"instance_id": instance_id, "state": instance.state}, code="not_running")
    at = now()
    document = documents.issue(instance, WITHDRAWAL, _withdrawal_data(instance, user, why, who, requested_on,
                                                                      remark, at), at, user.username)
    db.session.flush()
    audit.record("case.withdrawn", actor=user.username, instance_id=instance_id,
                 details={"reason": why, "requested_by": who, "requested_on": str(requested_on or "") or None,
                          "note": remark, "document": document.number})
    instances.cancel(instance, user.username, f"撤件：{why}", action="instance.withdrawn")  # ends tasks and timers; commits the whole correction
    return instance, document


def _withdrawal_data(instance: ProcessInstance, user: Principal, reason: str, requested_by: str | None,
                     requested_on: dt.date | None, note: str | None, at: dt.datetime) -> dict:
    """What the 撤件登记 prints: the case, the applicant, who asked and why, who registered it."""
    from ...matters.models import Matter
    from ...people.models import Department, User

    matter = db.session.get(Matter, hall.matter_code(instance)) if hall.matter_code(instance) else None
    department = db.session.get(Department, instance.department_code) if instance.department_code else None
    applicant = intake.applicant_of(intake.intake_of(instance.id))
    if applicant is not None:
        applicant = {**applicant, "id_type_name": intake.ID_TYPE_NAMES.get(applicant.get("id_type") or "", "")}
    elif isinstance((instance.data or {}).get("applicant"), str):
        applicant = {"name": instance.data["applicant"]}
    clerk = db.session.scalar(sa.select(User.name).where(User.username == user.username)) or user.username
    received = as_utc(instance.started_at).astimezone(SHANGHAI)
    return {"case_number": hall.case_number(instance), "instance_id": instance.id,
            "department": {"code": instance.department_code, "name": department.name if department else "区行政服务中心",
                           "short": department.short if department else "中心"},
            "matter": {"code": matter.code, "name": matter.name} if matter else {"code": None,
                                                                                  "name": instance.process_key},
            "applicant": applicant, "received_at": received.strftime("%Y-%m-%d %H:%M"),
            "reason": reason, "requested_by": requested_by or (applicant or {}).get("name"),
            "requested_on": (requested_on or as_utc(at).astimezone(SHANGHAI).date()).isoformat(),
            "note": note, "clerk": clerk, "center": "区行政服务中心"}
