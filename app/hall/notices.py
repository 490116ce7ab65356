"""The notice kinds (文书种类) and the diagram properties that declare which step issues which notice.

The hall's vocabulary module imports these names; analysts write them in Camunda Modeler as
`camunda:properties` of an element:

* `hall.notice` — kinds issued when the element is completed (a user task) or passed (an event, a gateway),
  comma-separated: `<camunda:property name="hall.notice" value="delivery"/>`;
* `hall.notice.enter` — kinds issued when a user task opens (the applicant is told before the step is done:
  a special procedure, a refusal to be delivered).
"""

from __future__ import annotations

from dataclasses import dataclass

NOTICE = "hall.notice"
NOTICE_ON_ENTER = "hall.notice.enter"


@dataclass(frozen=True)
class NoticeKind:
    code: str
    title: str  # the document's title as printed
    letter: str  # the series character in its number: 发改局受〔2026〕12号
    event: str  # what the case course calls it (文书制作 events for supervision)
    diagram: bool = True  # a diagram's step may issue it (hall.notice); False: the window's own (撤件登记)


KINDS: dict[str, NoticeKind] = {k.code: k for k in (
    NoticeKind("receipt", "收件凭证", "收", "收件"),
    NoticeKind("acceptance", "受理通知书", "受", "受理"),
    NoticeKind("supplement", "补正材料通知书", "补", "补交告知"),
    NoticeKind("not_accepted", "不予受理通知书", "不受", "不予受理"),
    NoticeKind("special_procedure", "特别程序告知书", "特", "特别程序申请"),
    NoticeKind("refusal", "不予行政许可决定书", "不许", "审批（不予许可）"),  # titled by the matter's type (law.py)
    NoticeKind("higher_decision", "上级机关决定告知书", "告", "上级机关决定"),  # 上报件: the higher decision
    NoticeKind("termination", "终止办理告知书", "终", "补正超时终止"),  # 补正超时: the case ends
    # issued by the hall's own acts, never by a diagram's step
    NoticeKind("extension", "延期告知书", "延", "延期", diagram=False),
    NoticeKind("completion", "办结通知书", "结", "办结"),
    NoticeKind("delivery", "送达回证", "送", "送达"),
    # issued by the window's 撤件 (app/cases/corrections.py), never by a diagram's step
    NoticeKind("withdrawal", "撤件登记", "撤", "撤件", diagram=False),
)}
TITLES: dict[str, str] = {code: kind.title for code, kind in KINDS.items()}


def parse(value: str | None) -> list[str]:
    """The kinds a property value names, in order; unknown names are left out (the deploy check reports them)."""
    return [part.strip() for part in (value or "").split(",") if _drawn(part.strip())]


def unknown(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip() and not _drawn(part.strip())]


def _drawn(code: str) -> bool:
    return code in KINDS and KINDS[code].diagram
