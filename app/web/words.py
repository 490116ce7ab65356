"""Plain Chinese for what a person reads: a case's state with its outcome, people by name, durations in (working)
days, and case data under the titles its forms give it (forms/*.json: `title`, `enumNames`)."""

from __future__ import annotations

import re
from typing import Any

from flask import g

from ..extensions import db
from ..hall.vocabulary import OUTCOME_NAMES

STATE_NAMES = {"running": "办理中", "completed": "已办结", "cancelled": "已撤销", "error": "异常", "suspended": "已挂起"}
OUTCOMES = {**OUTCOME_NAMES, "withdrawn": "撤件", "higher_approved": "上级机关准予",
            "higher_rejected": "上级机关不予批准"}


def state_label(state: str | None, outcome: str | None = None, withdrawn: bool = False) -> str:
    """已办结（准予）, 已撤销, 办理中 …: every state and outcome in words, never a code."""
    if withdrawn:
        return "已撤件"
    label = STATE_NAMES.get(state or "", "未知状态")
    if state == "completed" and outcome and outcome != "completed":
        return f"{label}（{OUTCOMES.get(outcome, '办结')}）"
    return label


# -- people ------------------------------------------------------------------------------------------------------
def _people() -> dict[str, str]:
    """Every person's name by username, read once per request (the hall has tens of people, not thousands)."""
    names = g.get("_people_names")
    if names is None:
        from ..people.models import User

        names = dict(db.session.execute(db.select(User.username, User.name)).all())
        g._people_names = names
    return names


def person(username: str | None) -> str:
    """A person by name (陈晓东); the system's own actors in words."""
    if not username:
        return "系统"
    if username in ("timer", "scheduler", "timer-start", "system"):
        return "系统（定时）" if username != "system" else "系统"
    return _people().get(username, username)


# -- durations ---------------------------------------------------------------------------------------------------
_DURATION = re.compile(r"\bP(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?\b")


def duration(text: str, working_days: bool = True) -> str:
    """ISO 8601 durations inside a text (`审核超期 P2D`) in words: `审核超期 2 个工作日`."""
    def words(match: re.Match) -> str:
        years, months, weeks, days, hours, minutes, seconds = match.groups()
        if not any(match.groups()):
            return match.group(0)
        parts = []
        for value, unit in ((years, "年"), (months, "个月"), (weeks, "周")):
            if value:
                parts.append(f"{int(value)} {unit}")
        if days:
            parts.append(f"{int(days)} {'个工作日' if working_days else '天'}")
        for value, unit in ((hours, "小时"), (minutes, "分钟"), (seconds, "秒")):
            if value:
                parts.append(f"{int(value)} {unit}")
        return " ".join(parts)

    return _DURATION.sub(words, text or "")


# -- case data under its forms' titles ---------------------------------------------------------------------------
# keys the hall and the intake write into case data themselves (no form declares them)
KNOWN_KEYS = {
    "applicant": "申请人", "applicant_type": "申请人类型", "applicant_name": "申请人", "materials": "申请材料",
    "green_channel": "绿色通道", "case_number": "办件编号", "opinions": "各部门意见", "coordination": "协调意见",
    "name": "名称", "received": "已收取", "originals": "原件份数", "copies": "复印件份数", "required": "必要材料",
    "note": "备注", "agree": "同意", "conditions": "条件", "by": "经办人", "at": "时间", "department": "部门",
    "agent": "代理人", "kind": "类型", "id_type": "证件类型", "id_number": "证件号码", "phone": "联系电话",
    "address": "地址", "legal_representative": "法定代表人",
}
KNOWN_VALUES = {"applicant_type": {"organisation": "法人或其他组织", "person": "自然人"}}


class Labels:
    """Titles and enum titles for data keys: from the forms in play (their properties, at any depth), then the
    hall's own keys."""

    def __init__(self, schemas: list[dict]) -> None:
        self.titles: dict[str, str] = {}
        self.values: dict[str, dict[str, str]] = {k: dict(v) for k, v in KNOWN_VALUES.items()}
        for schema in schemas:
            self._walk(schema or {})
        for key, title in KNOWN_KEYS.items():
            self.titles.setdefault(key, title)

    def _walk(self, schema: dict) -> None:
        for key, sub in (schema.get("properties") or {}).items():
            if not isinstance(sub, dict):
                continue
            if sub.get("title"):
                self.titles.setdefault(key, str(sub["title"]))
            if "enum" in sub:
                names = sub.get("enumNames") or []
                mapping = self.values.setdefault(key, {})
                for value, name in zip(sub["enum"], names, strict=False):
                    mapping.setdefault(str(value), str(name))
            self._walk(sub)
            if isinstance(sub.get("items"), dict):
                self._walk(sub["items"])

    def title(self, key: Any) -> str:
        return self.titles.get(str(key), str(key))

    def value(self, key: Any, value: Any) -> Any:
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            return self.values.get(str(key), {}).get(str(value), value)
        return value

    def plain(self, data: Any, key: Any = None) -> Any:
        """The data with titled keys and named values, ready for the `value` macro; a checklist of materials as
        one line each (✔ 营业执照（复印件 1 份）)."""
        if isinstance(data, list) and data and all(isinstance(m, dict) and "name" in m and "received" in m
                                                  for m in data):
            return [checklist_line(m) for m in data]
        if isinstance(data, dict):
            return {self.title(k): self.plain(v, k) for k, v in data.items()}
        if isinstance(data, list):
            return [self.plain(v, key) for v in data]
        return self.value(key, data)


def labels_for(form_keys: list[str]) -> Labels:
    from ..forms import service as forms

    schemas = []
    for key in dict.fromkeys(k for k in form_keys if k):
        form = forms.latest(key)
        if form is not None:
            schemas.append(form.schema)
    return Labels(schemas)


def checklist_line(material: dict) -> str:
    counts = [f"{label} {n} 份" for label, n in (("原件", material.get("originals")), ("复印件", material.get("copies")))
              if isinstance(n, int) and not isinstance(n, bool) and n > 0]
    mark = "✔" if material.get("received") is True else "✘ 未收"
    return f"{mark} {material.get('name')}" + (f"（{'，'.join(counts)}）" if counts else "")
