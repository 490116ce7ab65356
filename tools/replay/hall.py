"""The hall as the replay and the tests know it: processes/hall.yaml, the matters' records, who holds which post,
and what each matter's diagram declares (its steps, their forms and their boundary timers)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
PROCESSES = ROOT / "processes"
FORMS = ROOT / "forms"
HALL = yaml.safe_load((PROCESSES / "hall.yaml").read_text(encoding="utf-8"))
DEPARTMENTS = {d["code"]: d for d in HALL["departments"]}
USERS = {u["username"]: u for u in HALL["users"]}

_BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
_CAMUNDA = "{http://camunda.org/schema/1.0/bpmn}"


def catalog() -> list[dict]:
    """The 90 matters' records, as the analysts wrote them."""
    return [yaml.safe_load(p.read_text(encoding="utf-8")) for p in sorted(PROCESSES.glob("*/*.yaml"))]


def post_holders() -> dict[str, str]:
    """Post name -> the first hall user holding it (the clerk who does that post's tasks in the tests)."""
    holders: dict[str, str] = {}
    for user in HALL["users"]:
        for post in user.get("posts", []):
            holders.setdefault(post, user["username"])
    return holders


def all_holders() -> dict[str, list[str]]:
    """Post name -> every hall user holding it, in hall.yaml's order."""
    holders: dict[str, list[str]] = {}
    for user in HALL["users"]:
        for post in user.get("posts", []):
            holders.setdefault(post, []).append(user["username"])
    return holders


def short(code: str) -> str:
    return DEPARTMENTS[code]["short"]


def process_key(code: str) -> str:
    return "matter_" + code.replace("-", "_")


def window_of(username: str | None) -> int | None:
    return USERS.get(username or "", {}).get("window")


@dataclass
class Hall:
    """Bearer tokens of every hall user, and who holds each post."""

    tokens: dict[str, str]
    holders: dict[str, str] = field(default_factory=post_holders)

    def auth(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[username]}"}

    def holder(self, post: str) -> str:
        assert post in self.holders, f"no hall user holds the post {post}"
        return self.holders[post]


def issue_tokens(label: str = "replay", *, lasting: bool = False) -> dict[str, str]:
    """A bearer token for every user (in the caller's app context; the caller commits). `lasting`: tokens that do
    not expire — the replay's clock runs months ahead of the moment they are issued (the replay deletes them)."""
    from app.extensions import db
    from app.people.auth import issue_token
    from app.people.models import User

    extra = {"expires_at": None} if lasting else {}
    return {user.username: issue_token(user, label=label, **extra) for user in db.session.scalars(db.select(User))}


# -- what a matter's diagram declares ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Step:
    """A user task of a diagram: its role in the case's course (`hall.step`), its form, the working days of its
    boundary timer (the step's limit; None: no limit) and whether that timer interrupts it (补正期限)."""

    element_id: str
    name: str
    role: str | None
    form_key: str | None
    timer_days: int | None = None
    interrupting: bool = False
    special: str | None = None  # a special procedure's name (`hall.special`)
    max_days: int | None = None  # its bound (`hall.max_days`)
    department: str | None = None  # a co-opinion's department
    forward_clock: str | None = None  # a forwarding step: end | pause


@dataclass(frozen=True)
class Diagram:
    key: str
    steps: dict[str, Step]

    def role(self, element_id: str) -> str | None:
        step = self.steps.get(element_id)
        return step.role if step else None


def _days(duration: str | None) -> int | None:
    found = re.fullmatch(r"P(\d+)D", (duration or "").strip())
    return int(found.group(1)) if found else None


@cache
def diagram(code: str) -> Diagram:
    """The user tasks of a matter's diagram with their roles, forms and step limits."""
    matter = next(PROCESSES.glob(f"*/{code}.bpmn"))
    root = ET.parse(matter).getroot()
    props: dict[str, dict[str, str]] = {}
    tasks: dict[str, tuple[str, str | None]] = {}
    timers: dict[str, tuple[int | None, bool]] = {}
    for element in root.iter():
        if element.tag not in (f"{_BPMN}userTask", f"{_BPMN}boundaryEvent"):
            continue
        ident = element.get("id")
        props[ident] = {p.get("name"): p.get("value") for p in element.iter(f"{_CAMUNDA}property")}
        if element.tag == f"{_BPMN}userTask":
            tasks[ident] = (element.get("name") or ident, element.get(f"{_CAMUNDA}formKey"))
        else:
            duration = next((d.text for d in element.iter(f"{_BPMN}timeDuration")), None)
            timers[element.get("attachedToRef")] = (_days(duration), element.get("cancelActivity") != "false")
    steps = {}
    for ident, (name, form_key) in tasks.items():
        p = props[ident]
        days, interrupting = timers.get(ident, (None, False))
        steps[ident] = Step(ident, name, p.get("hall.step"), form_key, days, interrupting,
                            p.get("hall.special"), int(p["hall.max_days"]) if p.get("hall.max_days") else None,
                            p.get("hall.department"), p.get("hall.forward_clock"))
    return Diagram(process_key(code), steps)
