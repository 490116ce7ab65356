"""The case's legal course (办件过程): what happened to a case in law, as an append-only list of typed events.

`derive` reads a step — the task completed with its submission, the elements the engine passed, the tasks it
opened, the end it reached — as the diagram declares them (`hall.step`, `hall.notice`, `hall.outcome`), and says
which events of the course it makes. The case clock (supervision/clock.py) applies them, then `keep` writes them in
the step's own transaction. Acts outside steps (延期, deemed acceptance found by the sweep) write theirs with
`record`. The clock, supervision, statistics and the applicant's status read the course, not end-event guesses.

The law's edges live here too: once a case counts as accepted on receipt (Art. 32), the agency owes a decision —
a step that would end it 不予受理 or 补正超时 is refused (422).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ..errors import Invalid
from ..extensions import db
from ..hookspecs import StepResult
from ..tasks.moves import MOVES, SENT_BACK, TAKEN_BACK
from . import notices as notice_kinds
from .models import CaseEvent, HallCase
from .vocabulary import DEPARTMENT, OUTCOME, Outcome, Step, step_of

# code -> what the course calls it (the national case-event vocabulary: 受理, 补交告知, 特别程序申请…)
KINDS: dict[str, str] = {
    "received": "收件",
    "accepted": "受理",
    "deemed_accepted": "视为受理",
    "not_accepted": "不予受理",
    "supplement_notice": "补正告知",
    "supplement_received": "补正收件",
    "opinion": "会办意见",
    "coordination": "协调",
    "special_started": "特别程序开始",
    "special_ended": "特别程序结束",
    "special_extended": "特别程序延长",
    "special_overrun": "特别程序超过时限",
    "extended": "延期",
    "decided": "决定",
    "forwarded": "上报",
    "higher_replied": "上级答复",
    "delivered": "送达",
    "supplement_timeout": "补正超时终止",
    "cancelled": "撤销",
    "withdrawn": "撤回",
    "closed": "办结",
    "sent_back": "退回",
    "taken_back": "经办人撤回",
}
# what a decision decides (the case's outcome): a decide step's `decision`, or the end a diagram reached
DECISIONS = {"grant": Outcome.GRANTED, "refuse": Outcome.REFUSED, "approved": Outcome.HIGHER_APPROVED,
             "rejected": Outcome.HIGHER_REJECTED}
DECIDING_OUTCOMES = (Outcome.GRANTED, Outcome.REFUSED, Outcome.HIGHER_APPROVED, Outcome.HIGHER_REJECTED)
# steps only an accepted case reaches: the first of them opening means the window accepted it
AFTER_ACCEPTANCE = (Step.REVIEW, Step.FIRST_REVIEW, Step.CO_OPINION, Step.SPECIAL_PROCEDURE, Step.DECIDE,
                    Step.FORWARD, Step.COORDINATE)
ART_32 = "《行政许可法》第三十二条"
ENDING_ACTS = {"instance.cancelled": "cancelled", "instance.withdrawn": "withdrawn"}  # 撤销 by the agency, 撤件


@dataclass
class Event:
    kind: str
    at: datetime
    actor: str | None = None
    post: str | None = None
    task_id: str | None = None
    element_id: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return KINDS[self.kind]


def _text(value: Any, limit: int = 2000) -> str | None:
    return value.strip()[:limit] if isinstance(value, str) and value.strip() else None


def _decision(value: Any) -> str:
    return DECISIONS.get(value, "other") if isinstance(value, str) else "other"


def derive(step: StepResult, case: HallCase) -> list[Event]:
    """The events of the case's course this step makes, in the order they happened."""
    props = step.process.element_properties
    done = step.completed
    submitted = step.submitted or {}
    events: list[Event] = []

    def add(kind: str, *, by_task: bool = False, element_id: str | None = None, **data) -> None:
        events.append(Event(kind, step.at, step.actor, done.post if by_task and done else None,
                            done.id if by_task and done else None,
                            element_id or (done.element_id if by_task and done else None),
                            {k: v for k, v in data.items() if v is not None}))

    role = step_of(props(done.element_id)) if done is not None else None
    was_open = {t.id for t in step.before.user_tasks}
    opened = [t for t in step.after.user_tasks if t.id not in was_open]
    ends = [s.element_id for s in step.steps if props(s.element_id).get(OUTCOME)]
    end_outcome = props(ends[-1]).get(OUTCOME) if ends else None

    if step.action in MOVES:  # 退回, 撤回: the move is the course's event; nothing else happened in law
        return [_move(step)]

    if case.accepted_on_receipt:  # Art. 32: the agency owes a decision now
        refused_by = [t.name for t in opened if step_of(props(t.element_id)) == Step.NOT_ACCEPTED]
        if end_outcome in (Outcome.NOT_ACCEPTED, Outcome.SUPPLEMENT_TIMEOUT) or refused_by:
            what = "补正超时终止" if end_outcome == Outcome.SUPPLEMENT_TIMEOUT else "不予受理"
            raise Invalid(f"该申请未在收件后 5 个工作日内一次性告知补正，已视为自收件之日起受理（{ART_32}），"
                          f"不能再{what}，应当依法作出准予或不予许可的决定",
                          {"instance_id": step.case_id, "accepted_on_receipt": True, "refused": what},
                          code="deemed_accepted")

    if step.is_new:
        add("received")
    if role == Step.SUPPLEMENT_NOTICE or (done is not None and "supplement" in notice_kinds.parse(
            props(done.element_id).get(notice_kinds.NOTICE)) and role != Step.SUPPLEMENT_CHECK):
        add("supplement_notice", by_task=True, missing_materials=submitted.get("missing_materials"),
            method=_text(submitted.get("method")))
    elif role == Step.SUPPLEMENT_CHECK:
        add("supplement_received", by_task=True, received_materials=submitted.get("received_materials"),
            outcome=_text(submitted.get("outcome")))
    elif role == Step.NOT_ACCEPTED:
        add("not_accepted", by_task=True, reasons=_text(submitted.get("reasons")))

    if case.accepted_on is None and not any(e.kind == "not_accepted" for e in events) \
            and end_outcome not in (Outcome.NOT_ACCEPTED, Outcome.SUPPLEMENT_TIMEOUT) \
            and _accepts(step, role, opened, end_outcome):
        add("accepted", by_task=done is not None and role in (Step.ACCEPT, Step.SUPPLEMENT_CHECK, Step.DECIDE))

    if role == Step.CO_OPINION:  # 联办件: each department's opinion, as given
        add("opinion", by_task=True, department=props(done.element_id).get(DEPARTMENT) or done.element_id,
            agree=submitted.get("agree") is True, opinion=_text(submitted.get("opinion")),
            conditions=_text(submitted.get("conditions")))
    elif role == Step.COORDINATE:
        add("coordination", by_task=True, coordination=_text(submitted.get("coordination"), 40),
            opinion=_text(submitted.get("opinion")))
    if role == Step.DECIDE:
        add("decided", by_task=True, decision=_decision(submitted.get("decision")),
            reasons=_text(submitted.get("reasons")), opinion=_text(submitted.get("opinion")))
    elif role == Step.COORDINATE and submitted.get("coordination") not in (None, "resolved"):
        add("decided", by_task=True, decision=Outcome.REFUSED, reasons=_text(submitted.get("reasons")),
            coordination=_text(submitted.get("coordination")))
    elif role == Step.FORWARD:
        add("forwarded", by_task=True, forwarded_to=_text(submitted.get("forwarded_to"), 200),
            opinion=_text(submitted.get("opinion")))
    elif role in (Step.DELIVER, Step.INFORM):
        add("delivered", by_task=True, method=_text(submitted.get("method"), 40),
            receipt_no=_text(submitted.get("receipt_no"), 100))

    if not any(e.kind == "delivered" for e in events) and _issues(step, "delivery"):  # delivered on the spot
        add("delivered", by_task=done is not None and "delivery" in notice_kinds.parse(
            props(done.element_id).get(notice_kinds.NOTICE)))
    if case.forwarded_at is not None and case.replied_at is None and step.before.messages \
            and not step.after.messages and step.action not in ENDING_ACTS:
        data = step.after.data or {}
        add("higher_replied", higher_decision=_text(data.get("higher_decision"), 40),
            opinion=_text(data.get("higher_opinion")))
        if data.get("higher_decision") in ("approved", "rejected"):
            add("decided", decision=DECISIONS[data["higher_decision"]], higher=True)

    decided = case.decided_at is not None or any(e.kind == "decided" for e in events)
    if end_outcome == Outcome.NOT_ACCEPTED and case.outcome != Outcome.NOT_ACCEPTED \
            and not any(e.kind == "not_accepted" for e in events):
        add("not_accepted", element_id=ends[-1])
    elif end_outcome == Outcome.SUPPLEMENT_TIMEOUT:
        add("supplement_timeout", element_id=ends[-1])
    elif end_outcome in DECIDING_OUTCOMES and not decided:  # a diagram that decides by its end alone
        add("decided", element_id=ends[-1], decision=end_outcome)

    if step.action in ENDING_ACTS:
        add(ENDING_ACTS[step.action], reason=_text(step.details.get("reason")))
    if step.after.state == "completed" or step.action in ENDING_ACTS:
        add("closed", element_id=ends[-1] if ends else None, outcome=end_outcome)
    return events


def _move(step: StepResult) -> Event:
    """退回 (sent_back) or 经办人撤回 (taken_back): who, why, from which step to which (app/hall/moves.py)."""
    details = step.details
    data = {"reason": _text(details.get("reason"), 500), "from_step": details.get("from_name"),
            "from_element": details.get("from_element"), "to_step": details.get("to_name"),
            "reopened_task_id": details.get("reopened_task_id")}
    if step.action == TAKEN_BACK:
        data["cancelled"] = [c.get("name") for c in details.get("cancelled") or []]
    kind = "sent_back" if step.action == SENT_BACK else "taken_back"
    return Event(kind, step.at, step.actor, details.get("from_post"),
                 details.get("from_task_id") or details.get("task_id"), details.get("to_element"),
                 {k: v for k, v in data.items() if v not in (None, [])})


def _issues(step: StepResult, kind: str) -> bool:
    """Whether an element this step completed or passed issues a notice of `kind` (a 送达回证: delivered)."""
    props = step.process.element_properties
    elements = [s.element_id for s in step.steps] + ([step.completed.element_id] if step.completed else [])
    return any(kind in notice_kinds.parse(props(e).get(notice_kinds.NOTICE)) for e in elements)


def _accepts(step: StepResult, role: str | None, opened: list, end_outcome: str | None) -> bool:
    """Whether this step accepts the application: a notice of acceptance issued, a step only an accepted case
    reaches opening, a decision taken or an end a decision makes reached."""
    props = step.process.element_properties
    elements = [s.element_id for s in step.steps] + ([step.completed.element_id] if step.completed else [])
    if any("acceptance" in notice_kinds.parse(props(e).get(notice_kinds.NOTICE)) for e in elements):
        return True
    if any("acceptance" in notice_kinds.parse(props(t.element_id).get(notice_kinds.NOTICE_ON_ENTER))
           for t in opened):
        return True
    if any(step_of(props(t.element_id)) in AFTER_ACCEPTANCE for t in opened):
        return True
    return role == Step.DECIDE or end_outcome in DECIDING_OUTCOMES


# -- writing and reading --------------------------------------------------------------------------------------
_PENDING = "hall.course"


def keep(step: StepResult, events: list[Event]) -> None:
    """Remember the step's events until its rows are written (`write`, after the flush)."""
    step.plugin_rows.setdefault(_PENDING, []).extend(events)


_INSERT = CaseEvent.__table__.insert()  # Core, built once: every step writes its events (the ORM adds nothing here)


def write(step: StepResult) -> None:
    events = step.plugin_rows.pop(_PENDING, [])
    if events:
        db.session.connection().execute(_INSERT, [_row(step.case_id, event) for event in events])


def record(instance_id: str, event: Event) -> None:
    """An event of an act outside a step (延期, deemed acceptance found by the sweep), in the caller's transaction."""
    db.session.connection().execute(_INSERT, [_row(instance_id, event)])


def _row(instance_id: str, event: Event) -> dict:
    return {"instance_id": instance_id, "kind": event.kind, "at": event.at, "actor": event.actor, "post": event.post,
            "task_id": event.task_id, "element_id": event.element_id, "data": event.data}


def of(instance_id: str) -> list[CaseEvent]:
    return list(db.session.scalars(sa.select(CaseEvent).where(CaseEvent.instance_id == instance_id)
                                   .order_by(CaseEvent.id)))


def view(event: CaseEvent) -> dict:
    return {"id": event.id, "kind": event.kind, "name": KINDS.get(event.kind, event.kind), "at": event.at,
            "actor": event.actor, "post": event.post, "task_id": event.task_id, "element_id": event.element_id,
            "data": event.data or {}}
