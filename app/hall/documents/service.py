"""Issuing notices at the steps whose elements declare them, numbering them, and reading them back.

The step hook (`on_step`, after_flush, in the step's own transaction) looks at the elements the step touched:
the completed user task and every event or gateway the engine passed (`hall.notice`), and every user task
that opened (`hall.notice.enter`). Each notice is a `document` row: its number
`{department short name}{series}〔{year}〕{serial}号` (serial per department, series and year in Asia/Shanghai,
from a counter row: gap-free and safe under concurrent steps), its date, and a copy of everything printed on it.
The PDF is rendered from that copy when asked for (app/documents/render.py), so it never changes afterwards.
"""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa

from ...caches import app_cache, shared_generation
from ...clock import SHANGHAI, as_utc
from ...errors import NotFound
from ...extensions import db
from ...instances.hooks import StepResult
from ...instances.models import ProcessInstance
from ...people import absences as people
from ...serials import next_serial
from ...tasks.moves import MOVES
from .. import cases, intake, setting
from .. import notices as kinds
from ..vocabulary import PAUSE, SPECIAL, SPECIAL_RULE, Pause, special_basis, special_bound
from . import law
from .models import Document

DELIVERY_METHODS = {"on_site": "直接送达", "mail": "邮寄送达", "electronic": "电子送达"}
NOTIFY_METHODS = {"on_site": "当场告知", "sms": "短信", "phone": "电话", "mail": "邮寄", "online": "网上告知"}
CENTER = "区行政服务中心"
OUTCOME = "hall.outcome"  # app/hall/vocabulary.py's OUTCOME, on end events


ONCE = ("acceptance",)  # a case is accepted once: its 受理通知书 is issued once


def on_step(result: StepResult) -> None:
    """after_flush: issue the notices the elements of this step declare; a move (退回, 撤回) issues none: the
    notices of the steps it re-enters went out already."""
    process = result.process
    if not process.properties or result.action in MOVES:
        return
    issued: list[tuple[str, str, str | None]] = []  # (kind, element id, task id)
    if result.completed is not None:
        for kind in kinds.parse(process.element_properties(result.completed.element_id).get(kinds.NOTICE)):
            issued.append((kind, result.completed.element_id, result.completed.id))
    for step in result.steps:
        for kind in kinds.parse(process.element_properties(step.element_id).get(kinds.NOTICE)):
            issued.append((kind, step.element_id, None))
    was_open = {t.id for t in result.before.user_tasks}
    for task in result.after.user_tasks:
        if task.id not in was_open:
            for kind in kinds.parse(process.element_properties(task.element_id).get(kinds.NOTICE_ON_ENTER)):
                issued.append((kind, task.element_id, task.id))
    if any(kind in ONCE for kind, _, _ in issued):  # a step passed again (after a 退回) tells nothing anew
        done = set(db.session.scalars(sa.select(Document.kind).where(
            Document.instance_id == result.case_id, Document.kind.in_(ONCE))))
        issued = [item for item in issued if item[0] not in done]
    if issued:
        context = _Context(result)
        for kind, element_id, task_id in issued:
            if kind == "special_procedure" and not context.is_special(element_id):
                continue  # not special in law (no Art. 45 kind, no local rule): its days count, nothing to tell
            issue(result.instance, kind, context.data(kind, element_id, task_id), result.at, result.actor,
                  element_id, task_id)


def number_for(short: str, kind: str, year: int, serial: int, letter: str | None = None) -> str:
    """发改局受〔2026〕12号: the series word is the kind's unless the notice names its own (a refusal by its act)."""
    return f"{short}{letter or kinds.KINDS[kind].letter}〔{year}〕{serial}号"


def _parties(matter: dict) -> str | None:
    """Who else a decision goes to: 工伤认定 decides between the worker and the employer (工伤保险条例 Art. 20)."""
    basis = "".join(matter.get("legal_basis") or []) + (matter.get("name") or "")
    return "职工（或者其近亲属）和用人单位" if "工伤" in basis else None


def _record_rule(matter, procedure: str | None) -> str | None:
    """The local rule a matter record cites for a special procedure the law does not list (a site inspection)."""
    for item in (matter.special_procedures if matter is not None else None) or []:
        if isinstance(item, dict) and item.get("name") == procedure and item.get("basis"):
            return str(item["basis"])
    return None


def issue(instance: ProcessInstance, kind: str, data: dict[str, Any], at: datetime, actor: str | None,
          element_id: str | None = None, task_id: str | None = None) -> Document:
    """One numbered notice of the case, in the caller's transaction."""
    year = as_utc(at).astimezone(SHANGHAI).year
    department = instance.department_code or "center"
    serial = next_serial(f"doc:{department}:{kind}:{year}")
    short = data.get("department", {}).get("short") or "中心"
    document = Document(instance_id=instance.id, kind=kind, title=data.get("title") or kinds.KINDS[kind].title,
                        number=number_for(short, kind, year, serial, data.get("letter")), year=year, serial=serial,
                        department_code=instance.department_code, issued_at=at, issued_by=actor,
                        element_id=element_id, task_id=task_id,
                        data={**data, "issued_on": as_utc(at).astimezone(SHANGHAI).date().isoformat()})
    db.session.add(document)
    return document


def _matter_record(code: str) -> SimpleNamespace | None:
    """The matter row's columns as a step prints them, remembered per catalog generation (a record changed on
    any server process bumps it): a step does not read the record's JSON columns again."""
    from ...matters.models import Matter
    from ...matters.service import GENERATION

    cache = app_cache("documents.matters", dict)
    generation = shared_generation(GENERATION)
    if cache.get("generation") != generation:
        cache["records"], cache["generation"] = {}, generation
    records = cache["records"]
    if code not in records:
        row = db.session.get(Matter, code)
        records[code] = None if row is None else SimpleNamespace(
            **{column.key: getattr(row, column.key) for column in Matter.__mapper__.column_attrs})
    return records[code]


class _Context:
    """What the notices of one step are made from, read once per step."""

    def __init__(self, result: StepResult) -> None:
        self.result = result
        instance = result.instance
        self.case = cases.for_step(result)
        matter_code = self.case.matter_code if self.case is not None else None
        with db.session.no_autoflush:
            self.matter = _matter_record(matter_code) if matter_code else None
            self.department = people.department_info(instance.department_code)
            self.intake = intake.step_intake(result)
            actor = people.active_user(result.actor) if result.actor else None
        self.actor_name, self.actor_window = (actor.name, actor.window_no) if actor is not None else (None, None)
        self.case_data = {**(result.after.data or {}), **(result.submitted or {})}

    def base(self) -> dict[str, Any]:
        instance, matter, department, case = self.result.instance, self.matter, self.department, self.case
        applicant = intake.applicant_of(self.intake)
        if applicant is not None:
            applicant = {**applicant, "kind_name": intake.APPLICANT_KINDS.get(applicant["kind"] or "", ""),
                         "id_type_name": intake.ID_TYPE_NAMES.get(applicant["id_type"] or "", applicant["id_type"])}
        elif isinstance(self.case_data.get("applicant"), str):  # a case started without a structured applicant
            applicant = {"name": self.case_data["applicant"]}
        return {
            "case_number": case.case_number if case else None, "instance_id": instance.id,
            "center": CENTER,
            "department": {"code": instance.department_code,
                           "name": department.name if department else CENTER,
                           "legal_name": (department.legal_name or department.name) if department else CENTER,
                           "short": department.short if department else "中心",
                           "superior": department.superior if department else None,
                           "nature": department.nature if department else "agency"},
            "district": setting.district(),
            "matter": {"code": matter.code, "name": matter.name, "kind": matter.kind, "type": matter.type,
                       "legal_basis": list(matter.legal_basis or []), "promised_days": matter.promised_days,
                       "statutory_days": matter.statutory_days, "higher_authority": matter.higher_authority,
                       "result": dict(matter.result or {}), "consultation": matter.consultation,
                       "complaint": matter.complaint, "place": matter.place}
            if matter else {"code": None, "name": instance.process_key},
            "applicant": applicant,
            "received_on": case.received_on.isoformat() if case and case.received_on else None,
            "accepted_on": case.accepted_on.isoformat() if case and case.accepted_on else None,
            "due_date": case.due_date.isoformat() if case and case.due_date else None,
            "clerk": self.actor_name or self.result.actor,
            "window_no": (case.window_no if case else None) or self.actor_window,  # before acceptance: the receiver's
        }

    def data(self, kind: str, element_id: str, task_id: str | None) -> dict[str, Any]:
        data = self.base()
        data.update(getattr(self, f"_{kind}")(element_id))
        data["we"] = self.family.we  # 本机关, or 本部 / 本会 for the party's and the union's services
        return data

    # -- the law of the notice: its instrument by the matter's type, the remedy in force on its date
    @property
    def family(self) -> law.Family:
        base = self.base()
        return law.family_of(base["matter"], base["department"])

    def remedy(self, document: str = "本决定书") -> str:
        department = self.base()["department"]
        return law.remedy(self.family, as_utc(self.result.at).astimezone(SHANGHAI).date(),
                          agency=department["legal_name"], district=setting.district(),
                          superior=department.get("superior"), document=document)

    def _materials(self) -> list[str]:
        if self.intake is not None and self.intake.received_materials:
            return list(self.intake.received_materials)
        return [m.get("name") for m in self.case_data.get("materials") or []
                if isinstance(m, dict) and m.get("received") is True]

    # -- per kind: what is printed on it
    def _receipt(self, element_id: str) -> dict:
        received = as_utc(self.result.at).astimezone(SHANGHAI)
        # what the window received (the start's checklist), with the counts: not the matter's list
        received_materials = [{"name": m.get("name"), "originals": m.get("originals"), "copies": m.get("copies")}
                              for m in self.case_data.get("materials") or []
                              if isinstance(m, dict) and m.get("received") is True and m.get("name")]
        return {"received_at": received.strftime("%Y-%m-%d %H:%M"), "received_materials": received_materials,
                "query_code_printed": True}

    def _acceptance(self, element_id: str) -> dict:
        matter = self.base()["matter"]
        reported = matter.get("kind") == "reported"
        higher = law.higher(setting.authorities(), matter.get("higher_authority")) if reported else None
        return {"accepted_materials": self._materials(), "act": self.family.act,
                "basis": law.basis(matter, self.family, "第三十二条第一款第（五）项"),
                # 上报件: the district reviews first and forwards; the higher authority decides (Art. 43)
                "higher_authority": higher.get("legal_name") if higher else None,
                "first_review_days": 20 if reported else None}

    def _supplement(self, element_id: str) -> dict:
        listed = list(self.case_data.get("missing_materials") or [])
        if self.intake is not None:
            listed += [m for m in self.intake.missing_materials if m not in listed]
        return {"missing_materials": listed, "supplement_by": self._supplement_deadline(),
                "method": NOTIFY_METHODS.get(self.case_data.get("method") or "", ""),
                "note": self.case_data.get("note") if self.result.completed else None}

    def _supplement_deadline(self) -> str | None:
        """The applicant's deadline: the earliest timer on a step that waits for the supplement (its
        `hall.pause=supplement`), as the notice's local date; None when the diagram sets none."""
        props = self.result.process.element_properties
        due = [t.due_at for t in self.result.after.timers
               if t.attached_to and props(t.attached_to).get(PAUSE) == Pause.SUPPLEMENT]
        return as_utc(min(due)).astimezone(SHANGHAI).date().isoformat() if due else None

    def _not_accepted(self, element_id: str) -> dict:
        return {"reasons": self.case_data.get("reasons") or "", "legal_basis": self.case_data.get("legal_basis"),
                "referral": self.case_data.get("referral"), "act": self.family.act,
                "basis": law.basis(self.base()["matter"], self.family, "第三十二条"),
                "remedy": self.remedy("本通知书")}

    def is_special(self, element_id: str) -> bool:
        task = next((t for t in self.result.after.user_tasks if t.element_id == element_id), None)
        properties = self.result.process.element_properties(element_id)
        return special_basis(properties, task.name if task else None,
                             self.matter.special_procedures if self.matter else None) is not None

    def _special_procedure(self, element_id: str) -> dict:
        task = next((t for t in self.result.after.user_tasks if t.element_id == element_id), None)
        name = task.name if task else element_id
        properties = self.result.process.element_properties(element_id)
        bound = special_bound(properties, name, self.matter.special_procedures if self.matter else None)
        return {"procedure": name, "max_days": bound, "act": self.family.act,
                "basis": law.basis(self.base()["matter"], self.family, "第四十五条"),
                "local_rule": properties.get(SPECIAL_RULE) or _record_rule(self.matter, properties.get(SPECIAL) or name)}

    def _refusal(self, element_id: str) -> dict:
        # the remedy is always printed (Art. 38), whatever the decision form said
        matter, family = self.base()["matter"], self.family
        title = law.refusal_title(matter, family)
        return {"reasons": self.case_data.get("reasons") or "", "opinion": self.case_data.get("opinion"),
                "title": title, "act": family.act, "verb": law.refusal_verb(title, family),
                "letter": family.refusal_letter,
                "basis": law.basis(matter, family, "第三十八条第二款"),
                "parties": _parties(matter), "remedy": self.remedy(law.self_reference(title))}

    def _termination(self, element_id: str) -> dict:
        """补正超时: the applicant did not supplement by the deadline; the case ends (Art. 32)."""
        missing = list(self.intake.missing_materials) if self.intake is not None else []
        return {"missing_materials": missing, "act": self.family.act,
                "basis": law.basis(self.base()["matter"], self.family, "第三十二条第一款第（四）项"),
                "remedy": self.remedy("本告知书")}

    def _higher_decision(self, element_id: str) -> dict:
        """上报件: the higher authority's decision, told to the applicant with the remedy against that authority."""
        matter = self.base()["matter"]
        higher = law.higher(setting.authorities(), matter.get("higher_authority") or self.case_data.get("forwarded_to"))
        decision = self.case_data.get("higher_decision")
        remedy = law.remedy(self.family, as_utc(self.result.at).astimezone(SHANGHAI).date(),
                            agency=higher.get("legal_name") or "上级机关", district=setting.district(),
                            superior=higher.get("superior"), government=higher.get("government"),
                            court="有管辖权的人民法院", document="该决定") if decision == "rejected" else None
        return {"higher_authority": higher.get("legal_name"), "decision": decision,
                "opinion": self.case_data.get("higher_opinion"), "result_no": self.case_data.get("result_no"),
                "remedy": remedy}

    def _completion(self, element_id: str) -> dict:
        data = self.case_data
        # how the case ended, as the end event declares it (the hall's vocabulary), else from the decision recorded
        outcome = self.result.process.element_properties(element_id).get(OUTCOME)
        if outcome is None and data.get("higher_decision"):
            outcome = "higher_approved" if data["higher_decision"] == "approved" else "higher_rejected"
        elif outcome is None:
            outcome = "granted" if data.get("decision") == "grant" else "refused"
        return {"outcome": outcome, "result_no": data.get("result_no"), "verb": self.family.refusal_verb,
                "higher_opinion": data.get("higher_opinion"), "forwarded_to": data.get("forwarded_to"),
                "opinion": data.get("opinion")}

    def _delivery(self, element_id: str) -> dict:
        data = self.case_data
        higher = data.get("higher_decision") is not None  # 上报件: the higher authority's decision is delivered
        refused = not higher and data.get("decision") not in (None, "grant")
        kind = "higher_decision" if higher else "refusal" if refused else None
        previous = db.session.execute(sa.select(Document.title, Document.number).where(
            Document.instance_id == self.result.instance.id, Document.kind == kind)
            .order_by(Document.id.desc()).limit(1)).first() if kind else None
        if previous is not None:
            delivered = previous[0]
        else:
            delivered = ((self.matter.result or {}).get("name") if self.matter else None) or "办理结果"
        return {"delivered": delivered, "delivered_number": (previous[1] if previous else None) or data.get("result_no"),
                "method": DELIVERY_METHODS.get(data.get("method") or "", data.get("method") or ""),
                "delivered_on": data.get("delivered_on"), "receipt_no": data.get("receipt_no"),
                "note": data.get("note")}


# -- reading -------------------------------------------------------------------------------------------------------
def for_instance(instance_id: str) -> list[Document]:
    return list(db.session.scalars(sa.select(Document).where(Document.instance_id == instance_id)
                                   .order_by(Document.id)))


def get_or_404(document_id: int) -> Document:
    document = db.session.get(Document, document_id)
    if document is None:
        raise NotFound(f"文书 {document_id} 不存在", {"document_id": document_id})
    return document


def issue_act(instance: ProcessInstance, kind: str, extra: dict[str, Any], at: datetime, actor: str | None,
              element_id: str | None = None, task_id: str | None = None) -> Document:
    """A notice of an act of the hall's own, outside any step (延期, a special procedure's second notice): the
    case's data as a step would print it, and what the act adds."""
    from ...definitions import service as definitions
    from ...engine.case import Snapshot

    db.session.flush()  # the act's own changes first: the notice prints the case as the act leaves it
    snapshot = Snapshot(state=instance.state, data=dict(instance.data or {}))
    step = StepResult(instance, definitions.compiled_by_id(instance.definition_id), snapshot, snapshot, [], at,
                      actor, f"hall.{kind}")
    context = _Context(step)
    data = context.base()
    if kind == "special_procedure" and element_id:
        data.update(context._special_procedure(element_id))
    data.update(extra)
    data.setdefault("basis", law.basis(data["matter"], context.family, "第四十二条第一款"))
    return issue(instance, kind, data, at, actor, element_id, task_id)
