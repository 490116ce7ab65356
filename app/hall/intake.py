"""Intake (收件与受理): the applicant, the case number, the query code, one open case per business key, and the
acceptance checklist drawn from the matter's materials.

* Start (`receive`, `on_new_case`): a structured `applicant` is validated (422, Chinese messages per field); a
  case of a catalogued matter gets `case_number = {region}{department letters}{yyyyMMdd}{serial}` (serial per
  department per day in Asia/Shanghai, from a counter row: app/serials.py) and a query code for the applicant.
  Only the code's SHA-256 is stored: enough to check it, nothing to print it from. The code is in the start
  answer and on the receipt printed then; a lost code is replaced (`reset_query_code`), never shown again.
* A second open case of the same matter with the same business key is refused with 409 (checked here; the
  partial unique index `uq_process_instance_open_business_key` settles a race between two starts).
* The checklist: a step whose element declares `hall.checklist = acceptance` (the window's 受理) may be accepted
  only when every required material of the matter is received; 补正 derives the missing ones from the checklist
  (together with those named); `hall.checklist = supplement` (补正材料核验) may end `complete` only when every
  material asked for was supplied. The step issuing the supplement notice must list every missing material
  (一次性告知, Art. 32); its form is prefilled with them.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ..caches import app_cache, shared_generation
from ..clock import SHANGHAI, as_utc
from ..errors import Conflict, Invalid
from ..extensions import db
from ..instances.hooks import StepResult
from ..instances.models import ProcessInstance
from ..serials import next_serial
from . import cases
from .models import CaseIntake, HallCase
from .vocabulary import OUTCOME_NAMES

CHECKLIST = "hall.checklist"  # camunda:property: acceptance | supplement
ACCEPT, SUPPLEMENT, NOT_ACCEPTED, COMPLETE = "accept", "supplement", "not_accepted", "complete"  # form outcomes

PERSON_ID_TYPES = {"resident_id": "居民身份证", "passport": "护照", "hk_macao_permit": "港澳居民来往内地通行证",
                   "taiwan_permit": "台湾居民来往大陆通行证", "other": "其他证件"}
ORGANISATION_ID_TYPES = {"org_code": "组织机构代码", "business_licence": "营业执照注册号",
                         "uscc": "统一社会信用代码", "other": "其他证照"}
APPLICANT_KINDS = {"person": "自然人", "organisation": "法人或其他组织"}
ID_TYPE_NAMES = {**PERSON_ID_TYPES, **ORGANISATION_ID_TYPES}
_PHONE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8}(-\d{1,6})?)$")
_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read aloud and typed back without mistakes
QUERY_CODE_LENGTH = 10  # 50 bits


# -- the applicant -------------------------------------------------------------------------------------------------
def _resident_id_ok(value: str) -> bool:
    if re.fullmatch(r"\d{15}", value):  # first-generation cards, still valid in 2008
        return True
    if not re.fullmatch(r"\d{17}[\dX]", value):
        return False
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(d) * w for d, w in zip(value[:17], weights, strict=True))
    return "10X98765432"[total % 11] == value[17]


def _org_code_ok(value: str) -> bool:  # GB 11714: 8 characters and a check character, often written 12345678-9
    value = value.replace("-", "")
    if not re.fullmatch(r"[0-9A-Z]{8}[0-9X]", value):
        return False
    total = sum(int(c, 36) * w for c, w in zip(value[:8], (3, 7, 9, 10, 5, 8, 4, 2), strict=True))
    check = 11 - total % 11
    return value[8] == {10: "X", 11: "0"}.get(check, str(check))


def _uscc_ok(value: str) -> bool:  # GB 32100-2015
    chars = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    if len(value) != 18 or any(c not in chars for c in value):
        return False
    weights = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
    total = sum(chars.index(c) * w for c, w in zip(value[:17], weights, strict=True))
    return chars[(31 - total % 31) % 31] == value[17]


_ID_CHECKS = {
    "resident_id": (_resident_id_ok, "居民身份证号码应为 18 位（末位可为 X，校验位正确）或 15 位数字"),
    "org_code": (_org_code_ok, "组织机构代码应为 9 位（8 位本体代码和 1 位校验码，校验正确）"),
    "uscc": (_uscc_ok, "统一社会信用代码应为 18 位且校验正确"),
    "business_licence": (lambda v: bool(re.fullmatch(r"\d{13}|\d{15}", v)), "营业执照注册号应为 13 或 15 位数字"),
}


def _text(source: dict, key: str, path: str, title: str, errors: list, *, required: bool, limit: int) -> str | None:
    value = source.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors.append({"field": f"{path}{key}", "message": f"必填项缺失：{title}"})
        return None
    if not isinstance(value, str):
        errors.append({"field": f"{path}{key}", "message": f"{title}应为文本"})
        return None
    value = value.strip()
    if len(value) > limit:
        errors.append({"field": f"{path}{key}", "message": f"{title}不能超过 {limit} 个字"})
        return None
    return value


def _identity(source: dict, path: str, types: dict[str, str], errors: list, who: str) -> dict:
    id_type = _text(source, "id_type", path, f"{who}证件类型", errors, required=True, limit=30)
    if id_type is not None and id_type not in types:
        errors.append({"field": f"{path}id_type", "message": f"{who}证件类型应为以下之一："
                       + "、".join(f"{name}（{code}）" for code, name in types.items())})
        id_type = None
    number = _text(source, "id_number", path, f"{who}证件号码", errors, required=True, limit=64)
    if number is not None:
        number = number.upper().replace(" ", "")
        check = _ID_CHECKS.get(id_type or "")
        if check is not None and not check[0](number):
            errors.append({"field": f"{path}id_number", "message": check[1]})
        elif check is None and not re.fullmatch(r"[0-9A-Z()\-]{5,30}", number):
            errors.append({"field": f"{path}id_number", "message": f"{who}证件号码应为 5 至 30 位字母或数字"})
    phone = _text(source, "phone", path, f"{who}联系电话", errors, required=True, limit=30)
    if phone is not None and not _PHONE.fullmatch(phone.replace(" ", "")):
        errors.append({"field": f"{path}phone", "message": f"{who}联系电话应为 11 位手机号或带区号的固定电话"})
    return {"id_type": id_type, "id_number": number, "phone": phone.replace(" ", "") if phone else None}


def validate_applicant(applicant: Any) -> dict:
    """The applicant as the window records it, normalised; 422 listing every field error (Chinese)."""
    if not isinstance(applicant, dict):
        raise Invalid("申请人信息应为对象 (applicant must be an object)",
                      {"errors": [{"field": "applicant", "message": "申请人信息应为对象"}]})
    errors: list[dict] = []
    known = {"kind", "name", "id_type", "id_number", "phone", "address", "legal_representative", "agent"}
    for key in sorted(set(applicant) - known):
        errors.append({"field": f"applicant.{key}", "message": f"未知的申请人字段：{key}"})
    kind = _text(applicant, "kind", "applicant.", "申请人类型", errors, required=True, limit=20)
    if kind is not None and kind not in APPLICANT_KINDS:
        errors.append({"field": "applicant.kind", "message": "申请人类型应为以下之一：自然人（person）、法人或其他组织（organisation）"})
        kind = None
    types = ORGANISATION_ID_TYPES if kind == "organisation" else PERSON_ID_TYPES
    record = {"kind": kind,
              "name": _text(applicant, "name", "applicant.", "申请人名称", errors, required=True, limit=200),
              **_identity(applicant, "applicant.", types, errors, "申请人"),
              "address": _text(applicant, "address", "applicant.", "地址", errors, required=False, limit=300),
              "legal_representative": _text(applicant, "legal_representative", "applicant.", "法定代表人", errors,
                                            required=False, limit=100)}
    agent = applicant.get("agent")
    if agent is not None:
        if not isinstance(agent, dict):
            errors.append({"field": "applicant.agent", "message": "代理人信息应为对象"})
        else:
            record["agent"] = {"name": _text(agent, "name", "applicant.agent.", "代理人姓名", errors, required=True,
                                             limit=100),
                               **_identity(agent, "applicant.agent.", PERSON_ID_TYPES, errors, "代理人")}
    if errors:
        raise Invalid("申请人信息不符合要求 (invalid applicant)", {"errors": errors})
    return record


def applicant_of(row: CaseIntake | None) -> dict | None:
    """The applicant as the API shows it (identifiers are masked by people.access for those not handling it)."""
    if row is None or row.applicant_name is None:
        return None
    applicant = {"kind": row.applicant_kind, "name": row.applicant_name, "id_type": row.id_type,
                 "id_number": row.id_number, "phone": row.phone, "address": row.address,
                 "legal_representative": row.legal_representative}
    if row.agent_name:
        applicant["agent"] = {"name": row.agent_name, "id_type": row.agent_id_type,
                              "id_number": row.agent_id_number, "phone": row.agent_phone}
    return applicant


def intake_of(instance_id: str) -> CaseIntake | None:
    return db.session.get(CaseIntake, instance_id)


_STEP_INTAKE = "hall.intake"


def step_intake(step: StepResult) -> CaseIntake | None:
    """The case's intake row for this step, read once: the step holds it (the session's identity map keeps an
    unchanged row only as long as someone does, so the checklist and the notices would each read it again)."""
    if _STEP_INTAKE not in step.plugin_rows:
        with db.session.no_autoflush:
            step.plugin_rows[_STEP_INTAKE] = None if step.is_new else intake_of(step.case_id)
    return step.plugin_rows[_STEP_INTAKE]


# -- query codes ---------------------------------------------------------------------------------------------------
def digest(code: str) -> str:
    normal = re.sub(r"[\s-]", "", code or "").upper()
    return hashlib.sha256(f"tongban-query-code:{normal}".encode()).hexdigest()


def _new_query_code() -> tuple[str, str]:
    while True:
        raw = "".join(secrets.choice(_ALPHABET) for _ in range(QUERY_CODE_LENGTH))
        code = f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"
        hashed = digest(code)
        taken = db.session.execute(sa.select(CaseIntake.instance_id).where(
            CaseIntake.query_code_digest == hashed)).first()
        if taken is None:  # 2^50 codes: a clash is all but impossible, and the unique index is the last word
            return code, hashed


def check_query_code(case_number: str, code: str) -> ProcessInstance | None:
    """The case whose number and query code these are, or None (same answer for a wrong code or number)."""
    row = db.session.execute(
        sa.select(ProcessInstance, CaseIntake.query_code_digest)
        .join(CaseIntake, CaseIntake.instance_id == ProcessInstance.id)
        .join(HallCase, HallCase.instance_id == ProcessInstance.id)
        .where(HallCase.case_number == (case_number or "").strip())).first()
    if row is None or row[1] is None or not secrets.compare_digest(row[1], digest(code)):
        return None
    return row[0]


def reset_query_code(instance: ProcessInstance, at: datetime) -> str:
    """A new code for a lost one (the old one stops working); the caller prints a new receipt with it."""
    row = intake_of(instance.id)
    if row is None:
        row = CaseIntake(instance_id=instance.id, received_materials=[], missing_materials=[])
        db.session.add(row)
    code, row.query_code_digest = _new_query_code()
    row.query_code_set_at = at
    return code


# -- the hooks -----------------------------------------------------------------------------------------------------
def _department_letters(code: str | None) -> str | None:
    """A department's letters in case numbers (hall.yaml), remembered per app until people change."""
    if code is None:
        return None
    from ..people.auth import GENERATION
    from ..people.models import Department

    remembered = app_cache("hall.department_letters", dict)
    generation = shared_generation(GENERATION)
    entry = remembered.get(code)
    if entry is None or entry[0] != generation:
        with db.session.no_autoflush:
            entry = remembered[code] = (generation, db.session.scalar(
                sa.select(Department.letters).where(Department.code == code)))
    return entry[1]


def on_new_case(result: StepResult) -> None:
    """before_flush: a new matter case gets its number."""
    case = cases.for_step(result)
    if not result.is_new or case is None or case.case_number is not None:
        return
    letters = _department_letters(case.department_code) or (case.department_code or "XX").upper()[:2]
    region = case.matter_code[:8]
    day = as_utc(result.at).astimezone(SHANGHAI).strftime("%Y%m%d")
    serial = next_serial(f"case:{region}{letters}:{day}")
    case.case_number = f"{region}{letters}{day}{serial:04d}"
    result.answer["case_number"] = case.case_number


def on_starting(start) -> None:
    """Before a case starts: its applicant is validated (422), its matter offered today (409), its business key not
    that of an open case of the matter (409); a matter's case is its matter's department's."""
    if start.applicant is not None:
        start.applicant = validate_applicant(start.applicant)
    check_offered(start.definition_id, start.process_key)
    from .supervision import clock

    matter = clock.matter_for(start.definition_id, start.process_key)
    if matter is not None:
        check_business_key(matter.code, start.business_key)
        start.department_code = matter.department_code


def check_offered(definition_id: int, process_key: str, today=None) -> None:
    """Before a start: 409 when the process is a matter's that is not offered today (cancelled, or not yet in
    effect); the case would have no legal basis. Processes that are no matter's start freely. The matter comes
    from the case clock's memory (one lookup per version and catalog change)."""
    from ..matters import service as matters
    from .supervision import clock

    matter = clock.matter_for(definition_id, process_key)
    if matter is None or matters.is_offered(matter, today):
        return
    state = matters.state_of(matter, today)
    when = matter.cancelled_on if state == "cancelled" else matter.effective_from
    message = (f"事项「{matter.name}」已于 {when} 取消，不再受理新申请" if state == "cancelled"
               else f"事项「{matter.name}」自 {when} 起施行，目前尚不能受理")
    raise Conflict(message, {"matter_code": matter.code, "state": state, "date": str(when)},
                   code="matter_not_offered")


def check_business_key(matter_code: str, business_key: str | None) -> None:
    """Before a start: 409 naming the open case of this matter that has the business key already.

    (A start that races past this check stops at the partial unique index of `hall_case`; the plugin's
    constraint_conflicts maps it to 409.)
    """
    if not business_key:
        return
    other = db.session.execute(sa.select(HallCase.instance_id, HallCase.case_number).where(
        HallCase.matter_code == matter_code, HallCase.business_key == business_key, HallCase.is_open)).first()
    if other is not None:
        raise duplicate(business_key, other[0], other[1])


def duplicate(business_key: str, instance_id: str | None = None, case_number: str | None = None) -> Conflict:
    return Conflict(f"该事项已有业务号为 {business_key} 的在办件{f'（{case_number}）' if case_number else ''}，"
                    "不能重复收件 (an open case of this matter has this business key)",
                    {"business_key": business_key, "instance_id": instance_id, "case_number": case_number},
                    code="duplicate_business_key")


def record_intake(result: StepResult) -> None:
    """after_flush: the new matter case's intake row: the applicant given at start and the query code's digest."""
    instance = result.instance
    applicant = (result.start.applicant if result.start is not None else None) or {}
    if applicant:
        result.answer["applicant"] = applicant
    case = cases.for_step(result)
    number = case.case_number if case is not None else None
    if not result.is_new or (number is None and not applicant):
        return
    agent = applicant.get("agent") or {}
    # the query code goes with the case number: the applicant asks with both
    code, hashed = _new_query_code() if number else (None, None)
    db.session.add(row := CaseIntake(
        instance_id=instance.id, applicant_kind=applicant.get("kind"), applicant_name=applicant.get("name"),
        id_type=applicant.get("id_type"), id_number=applicant.get("id_number"), phone=applicant.get("phone"),
        address=applicant.get("address"), legal_representative=applicant.get("legal_representative"),
        agent_name=agent.get("name"), agent_id_type=agent.get("id_type"), agent_id_number=agent.get("id_number"),
        agent_phone=agent.get("phone"), query_code_digest=hashed, query_code_set_at=result.at if code else None,
        received_materials=[], missing_materials=[]))
    result.plugin_rows[_STEP_INTAKE] = row
    db.session.flush()  # the receipt, issued next in this step, prints this applicant
    result.answer["query_code"] = code  # handed back once, in the start answer and on the receipt


def _norm(name: Any) -> str:
    return re.sub(r"\s+", "", str(name or ""))


def matter_materials(matter_code: str | None) -> list[dict]:
    from ..matters.models import Matter

    if matter_code is None:
        return []
    with db.session.no_autoflush:
        return list(db.session.scalar(sa.select(Matter.materials).where(Matter.code == matter_code)) or [])


def _required(material: dict) -> bool:
    return material.get("required") is True or material.get("required") in ("是", "required")


def check_materials(result: StepResult) -> None:
    """before_flush: the acceptance checklist, the supplement check, and the one-time supplement notice."""
    task = result.completed
    case = cases.for_step(result) if task is not None else None
    if case is None or case.matter_code is None:
        return
    properties = result.process.element_properties(task.element_id)
    checklist = properties.get(CHECKLIST)
    from . import notices as kinds

    notices = kinds.parse(properties.get(kinds.NOTICE))
    if checklist is None and "supplement" not in notices:
        return
    data = result.submitted
    _check_shapes(data)
    row = step_intake(result)
    if row is None:
        row = result.plugin_rows[_STEP_INTAKE] = CaseIntake(instance_id=result.instance.id, received_materials=[],
                                                            missing_materials=[])
        db.session.add(row)
    if checklist == "acceptance":
        _acceptance(case.matter_code, data, row)
    elif checklist == "supplement" and data.get("outcome") == COMPLETE:
        supplied = {_norm(m) for m in data.get("received_materials") or []} | {_norm(m) for m in row.received_materials}
        still = [m for m in row.missing_materials if _norm(m) not in supplied]
        if still:
            raise Invalid(f"补正材料未补齐，不能核验通过：{'、'.join(still)}",
                          {"missing_materials": still, "errors": [
                              {"field": "received_materials", "message": f"尚缺：{'、'.join(still)}"}]},
                          code="materials_missing")
        row.received_materials = [*row.received_materials, *[m for m in row.missing_materials
                                                             if m not in row.received_materials]]
    if "supplement" in notices:
        listed = [m for m in data.get("missing_materials") or [] if _norm(m)]
        left_out = [m for m in row.missing_materials if _norm(m) not in {_norm(x) for x in listed}]
        if left_out:
            raise Invalid(f"补正告知须一次性列明全部需补正的材料，漏列：{'、'.join(left_out)}",
                          {"missing_materials": row.missing_materials, "errors": [
                              {"field": "missing_materials", "message": f"漏列：{'、'.join(left_out)}"}]},
                          code="materials_missing")
        row.missing_materials = [*row.missing_materials, *[m for m in listed if m not in row.missing_materials]]


MAX_MATERIALS, MAX_MATERIAL_NAME = 200, 200


def _check_shapes(data: dict) -> None:
    """The checklist fields as the hall reads them, whatever form (or none) the diagram gave the step: 422
    before anything is read from them (a text is not a list of its characters)."""
    errors = []
    checklist = data.get("materials")
    if checklist is not None:
        if not isinstance(checklist, list) or len(checklist) > MAX_MATERIALS:
            errors.append({"field": "materials", "message": f"材料清单应为列表（至多 {MAX_MATERIALS} 项）"})
        else:
            for i, item in enumerate(checklist):
                name = item.get("name") if isinstance(item, dict) else None
                if not isinstance(name, str) or not name.strip() or len(name) > MAX_MATERIAL_NAME \
                        or not isinstance(item.get("received", False), bool):
                    errors.append({"field": f"materials[{i}]",
                                   "message": f"应为 {{name: 材料名称（至多 {MAX_MATERIAL_NAME} 字）, received: 是否收到}}"})
    for field in ("missing_materials", "received_materials"):
        names = data.get(field)
        if names is None:
            continue
        if not isinstance(names, list) or len(names) > MAX_MATERIALS or not all(
                isinstance(n, str) and n.strip() and len(n) <= MAX_MATERIAL_NAME for n in names):
            errors.append({"field": field, "message": f"应为材料名称的列表（每项为非空文本，至多 {MAX_MATERIAL_NAME} 字）"})
    if errors:
        raise Invalid(f"材料清单格式不正确：{errors[0]['field']} {errors[0]['message']}", {"errors": errors},
                      code="invalid_materials")


def _acceptance(matter_code: str, data: dict, row: CaseIntake) -> None:
    materials = matter_materials(matter_code)
    checklist = data.get("materials")
    received = {_norm(m.get("name")) for m in checklist or [] if isinstance(m, dict) and m.get("received") is True}
    missing_required = [m["name"] for m in materials if _required(m) and _norm(m["name"]) not in received]
    outcome = data.get("outcome")
    row.received_materials = [m["name"] for m in materials if _norm(m["name"]) in received]
    if outcome == ACCEPT and missing_required:
        raise Invalid(f"必要材料未收齐，不能受理：{'、'.join(missing_required)}（可选择补正，一次性告知）",
                      {"missing_materials": missing_required, "errors": [
                          {"field": "materials", "message": f"未收取：{'、'.join(missing_required)}"}]},
                      code="materials_missing")
    if outcome == SUPPLEMENT:
        named = [m for m in data.get("missing_materials") or [] if _norm(m)]
        derived = missing_required if checklist is not None else []  # without a checklist: what the clerk named
        missing = [*derived, *[m for m in named if _norm(m) not in {_norm(d) for d in derived}]]
        if not missing:
            raise Invalid("补正须一次性列明需补正的材料：材料清单中的必要材料均已收取，也未列明其他材料",
                          {"errors": [{"field": "missing_materials", "message": "请列明需补正的材料"}]},
                          code="materials_missing")
        row.missing_materials = missing
    elif outcome == ACCEPT:
        row.missing_materials = []


# -- prefill (GET /tasks/{id}, and the defaults of a completion) ---------------------------------------------------
def prefill(task, instance: ProcessInstance, properties: dict[str, str]) -> dict | None:
    """The acceptance checklist from the matter record; the supplement notice's list of missing materials."""
    from . import notices as kinds

    if properties.get(CHECKLIST) == "acceptance":
        # what the window ticked at 收件 (the start data's checklist) starts ticked, with the counts it recorded
        at_intake = {_norm(m.get("name")): m for m in (instance.data or {}).get("materials") or []
                     if isinstance(m, dict)}
        rows = []
        case = cases.get(instance.id)
        for m in matter_materials(case.matter_code if case else None):
            seen = at_intake.get(_norm(m["name"]), {})
            rows.append({"name": m["name"], "required": _required(m), "received": seen.get("received") is True,
                         "originals": _count(seen.get("originals"), m.get("originals", 0)),
                         "copies": _count(seen.get("copies"), m.get("copies", 0)), "note": m.get("note") or ""})
        return {"materials": rows}
    if properties.get(CHECKLIST) == "supplement":  # 补正核验 checks what the notice asked for
        row = intake_of(instance.id)
        if row is not None and row.missing_materials:
            return {"received_materials": list(row.missing_materials)}
        return None
    if "supplement" in kinds.parse(properties.get(kinds.NOTICE)):
        row = intake_of(instance.id)
        if row is not None and row.missing_materials:
            return {"missing_materials": list(row.missing_materials)}
    return None


def _count(value: Any, default: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else int(default or 0)


def defaults(task, instance: ProcessInstance, properties: dict[str, str]) -> dict | None:
    """What a completion takes from the prefill when the clerk leaves it out: the notice's missing materials."""
    from . import notices as kinds

    if "supplement" in kinds.parse(properties.get(kinds.NOTICE)):
        return prefill(task, instance, properties)
    return None


# -- the applicant's side: progress by case number and query code; a lost code ---------------------------------
# what the applicant reads: the vocabulary's outcome names, the higher authority spelt out
_OUTCOMES = {**OUTCOME_NAMES, "higher_approved": "上级机关准予", "higher_rejected": "上级机关不予批准"}


def status(case_number: str, code: str) -> dict:
    """What the applicant may learn with the code: no personal data; where the case stands in its legal course,
    the notices by title, number and date."""
    from ..errors import NotFound
    from ..matters.models import Matter
    from ..tasks.models import UserTask
    from . import course
    from .documents import service as documents

    instance = check_query_code(case_number, code)
    if instance is None:
        raise NotFound("办件编号或查询码不正确 (unknown case number or wrong query code)", {})
    case = cases.get(instance.id)
    notices = documents.for_instance(instance.id)
    kinds = [e.kind for e in course.of(instance.id)]
    outcome = case.outcome if case else None
    if instance.state == "cancelled" or outcome in ("cancelled", "withdrawn"):
        label = "已撤件" if outcome == "withdrawn" or "withdrawn" in kinds else "已撤销"
    elif not case.is_open or outcome is not None:
        label = f"已办结（{_OUTCOMES.get(outcome or '', '办结')}）" if not case.is_open \
            else f"已作出决定（{_OUTCOMES.get(outcome or '', '决定')}），待送达"
    elif "forwarded" in kinds and "higher_replied" not in kinds:
        label = "已上报上级机关，等待上级机关决定"
    elif "supplement_notice" in kinds and not {"supplement_received", "accepted", "deemed_accepted"} \
            & set(kinds[len(kinds) - 1 - kinds[::-1].index("supplement_notice"):]):
        label = "待补正（请按补正材料通知书一次性补齐材料）"
    elif {"accepted", "deemed_accepted"} & set(kinds):
        label = "已受理，办理中"
    else:
        label = "已收件，待受理审查"
    name = db.session.scalar(sa.select(Matter.name).where(Matter.code == case.matter_code))
    # the steps by name only: who holds them is not the applicant's to learn
    steps = list(db.session.scalars(sa.select(UserTask.name).where(
        UserTask.instance_id == instance.id, UserTask.state == "open").order_by(UserTask.created_at)))
    return {"case_number": case.case_number, "matter": name, "status": label, "state": instance.state,
            "outcome": outcome, "outcome_name": _OUTCOMES.get(outcome or ""),
            "received_on": case.received_on, "accepted_on": case.accepted_on, "due_date": case.due_date,
            "decided_on": case.decided_at.astimezone(SHANGHAI).date() if case.decided_at else None,
            "current_steps": steps,
            "notices": [{"title": d.title, "number": d.number, "issued_on": d.data.get("issued_on")}
                        for d in notices]}


def reissue_receipt(instance: ProcessInstance, actor: str):
    """A new query code (the old one stops working) and a new receipt to print it on; one transaction."""
    from ..audit import service as audit
    from ..clock import now
    from .documents import service as documents
    from .documents.models import Document

    case = cases.get(instance.id)
    if case is None or case.case_number is None:
        raise Invalid("该办件没有办件编号，不能设置查询码 (not a matter's case)", {"instance_id": instance.id})
    at = now()
    code = reset_query_code(instance, at)
    first = db.session.scalar(sa.select(Document).where(Document.instance_id == instance.id,
                                                        Document.kind == "receipt").order_by(Document.id).limit(1))
    data = {**(first.data if first is not None else {"case_number": case.case_number,
                                                      "department": {"name": "", "short": "中心"}}),
            "reissued": True}
    receipt = documents.issue(instance, "receipt", data, at, actor, element_id=first.element_id if first else None)
    audit.record("intake.query_code_reset", actor=actor, instance_id=instance.id, details={"receipt": receipt.number})
    db.session.commit()
    return code, receipt
