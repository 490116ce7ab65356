"""The replay's own ledger: what it did to each case and what that must mean — the case's due date, its decision's
verdict (on time or late, working days used), its light at every sweep and the supervision warnings those lights
and the law's limits raise, the escalations its late steps cause.

Every date here is counted with the replay's own calendar (`workdays`, chinese_calendar) from the moments the
replay acted, following the rules as documented (docs/api-supervision.md, docs/api-statistics.md, the module
docstring of app/hall/supervision/service.py) — not by asking the app. `compare` then sets it against what the API
reports, and names every difference.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from . import workdays
from .hall import Step, window_of

SHANGHAI = ZoneInfo("Asia/Shanghai")
STATUTORY_SPECIAL = ("听证", "招标", "拍卖", "检验", "检测", "检疫", "鉴定", "专家评审")  # Art. 45
SUPPLEMENT_NOTICE_DAYS = 5  # Art. 32
DELIVERY_DAYS = 10  # Art. 44
FIRST_REVIEW_DAYS = 20  # Art. 43
EXTENSION_DAYS, JOINT_EXTENSION_DAYS = 10, 15  # Art. 42
OFFICE_CLOSE = dt.time(17, 0)
DECIDING = ("granted", "refused", "higher_approved", "higher_rejected")


def local_date(at: dt.datetime) -> dt.date:
    return at.astimezone(SHANGHAI).date()


@dataclass(frozen=True)
class Settings:
    yellow_days: int = 1
    yellow_ratio: float = 0.2
    green_ratio: float = 0.5
    office_close: dt.time = OFFICE_CLOSE


def step_due(created: dt.datetime, days: int, s: Settings) -> dt.datetime:
    """A working-day step limit: due at the office's close on the `days`-th working day after the step opened."""
    day = workdays.add(local_date(created), days)
    return dt.datetime.combine(day, s.office_close, SHANGHAI).astimezone(dt.UTC)


def case_light(today: dt.date, due: dt.date, promised: int, s: Settings) -> str:
    if today > due:
        return "red"
    threshold = min(max(s.yellow_days, math.ceil(s.yellow_ratio * promised)), promised - 1)
    return "yellow" if workdays.between(today, due) <= threshold else "green"


def step_light(at: dt.datetime, created: dt.datetime, due: dt.datetime, s: Settings) -> str:
    if at >= due:
        return "red"
    if due - at <= (due - created) * s.yellow_ratio:
        return "yellow"
    due_day = local_date(due)
    span = workdays.between(local_date(created), due_day)
    return "yellow" if workdays.between(local_date(at), due_day) <= min(s.yellow_days, span - 1) else "green"


def green_days(promised: int, s: Settings) -> int:
    return 0 if promised <= 0 else max(1, min(promised, math.floor(promised * s.green_ratio)))


@dataclass
class StepTruth:
    task_id: str
    step: Step
    created: dt.datetime
    due: dt.datetime | None
    light: str | None
    closed: dt.datetime | None = None
    special_flag: str | None = None  # the level of its open special_overdue warning
    special_red: bool = False
    delivery_flagged: bool = False
    escalated: bool = False


@dataclass
class Warning_:
    kind: str
    level: str
    task_id: str | None
    element: str | None
    at: dt.datetime


@dataclass
class CaseTruth:
    """One case as the replay knows it."""

    n: int
    code: str
    kind: str
    department: str
    matter_promised: int
    green: bool
    special_procedures: list
    s: Settings
    instance_id: str | None = None
    received_at: dt.datetime | None = None
    receiver: str | None = None
    acceptor: str | None = None
    window: int | None = None
    accepted_on: dt.date | None = None
    paused_days: int = 0
    pause: str | None = None  # supplement | special
    paused_since: dt.date | None = None
    pause_limit: int | None = None
    pause_task: str | None = None
    supplement_wait: int = 0  # the applicant's working days (before acceptance)
    supplement_count: int = 0
    extended_days: int = 0
    light: str | None = "green"
    decided_at: dt.datetime | None = None
    outcome: str | None = None
    on_time: bool | None = None
    working_days_used: int | None = None
    forwarded_at: dt.datetime | None = None
    delivery_due: dt.date | None = None
    delivered_at: dt.datetime | None = None
    closed_at: dt.datetime | None = None
    steps: dict[str, StepTruth] = field(default_factory=dict)
    warnings: list[Warning_] = field(default_factory=list)
    escalations: list[str] = field(default_factory=list)  # elements whose step limit passed while open
    late_first_review: bool = False
    notes: list[str] = field(default_factory=list)

    # -- the clock -------------------------------------------------------------------------------------------------
    @property
    def promised(self) -> int:
        return green_days(self.matter_promised, self.s) if self.green else self.matter_promised

    @property
    def received_on(self) -> dt.date | None:
        return local_date(self.received_at) if self.received_at else None

    @property
    def due(self) -> dt.date:
        """From the acceptance (before it, provisionally from the receipt, moved by the applicant's supplement
        wait): the limit, 延期 and special pauses."""
        waited = self.supplement_wait if self.accepted_on is None else 0
        return workdays.add(self.accepted_on or self.received_on,
                            self.promised + self.extended_days + self.paused_days + waited)

    @property
    def is_open(self) -> bool:
        return self.closed_at is None

    def counted_days(self, today: dt.date) -> int:
        """Working days since acceptance that count toward the limit."""
        if self.accepted_on is None:
            return 0
        running = workdays.between(self.paused_since, today) if self.paused_since is not None else 0
        return max(0, workdays.between(self.accepted_on, today) - self.paused_days - running)

    def _resume(self, at: dt.datetime) -> None:
        days = workdays.between(self.paused_since, local_date(at))
        counted = days if self.pause_limit is None else min(days, self.pause_limit)
        if self.pause == "supplement" and self.accepted_on is None:
            self.supplement_wait += days
        if self.accepted_on is not None:
            self.paused_days += counted
        self.pause, self.paused_since, self.pause_limit, self.pause_task = None, None, None, None

    def _stop(self) -> None:
        self.light = None

    # -- what the replay did ---------------------------------------------------------------------------------------
    def received(self, at: dt.datetime, receiver: str, instance_id: str) -> None:
        self.received_at, self.receiver, self.instance_id = at, receiver, instance_id

    def owned(self, username: str) -> None:
        if self.acceptor is None:
            self.acceptor, self.window = username, window_of(username)

    def opened(self, task_id: str, step: Step, at: dt.datetime) -> None:
        due = step_due(at, step.timer_days, self.s) if step.timer_days is not None else None
        self.steps[task_id] = StepTruth(task_id, step, at, due, "green" if due is not None else None)
        if not self.is_open or self.paused_since is not None or self.decided_at is not None \
                or self.forwarded_at is not None:
            return
        if step.role == "supplement_check" and self.accepted_on is None:
            self.pause, self.paused_since = "supplement", local_date(at)
        elif step.role == "special_procedure" and self.special_pauses(step):
            self.pause, self.paused_since, self.pause_task = "special", local_date(at), task_id
            self.pause_limit = self.special_bound(step)

    def special_pauses(self, step: Step) -> bool:
        """Art. 45 lists it, or the matter record cites the local rule that makes it special."""
        name = step.special or step.name
        if any(word in name for word in STATUTORY_SPECIAL):
            return True
        listed = [p for p in self.special_procedures if isinstance(p, dict)]
        found = next((p for p in listed if p.get("name") in (step.special, step.name)), None)
        if found is None and len(listed) == 1:
            found = listed[0]
        return bool(found and found.get("basis"))

    def special_bound(self, step: Step) -> int | None:
        if step.max_days is not None:
            return step.max_days
        listed = [p for p in self.special_procedures if isinstance(p, dict) and isinstance(p.get("max_days"), int)]
        found = next((p["max_days"] for p in listed if p.get("name") in (step.special, step.name)), None)
        return found if found is not None else (listed[0]["max_days"] if len(listed) == 1 else None)

    def closed_step(self, task_id: str, at: dt.datetime) -> None:
        truth = self.steps.get(task_id)
        if truth is None or truth.closed is not None:
            return
        truth.closed = at
        if self.paused_since is not None and (self.pause_task == task_id or (
                self.pause == "supplement" and truth.step.role == "supplement_check")):
            self._resume(at)
        if self.pause_task == task_id:
            self.pause_task = None

    def accepted(self, at: dt.datetime) -> None:
        if self.accepted_on is not None:
            return
        if self.paused_since is not None:  # the supplement wait ends with the acceptance: it does not count
            self.supplement_wait += workdays.between(self.paused_since, local_date(at))
            self.pause, self.paused_since = None, None
        self.accepted_on, self.paused_days = local_date(at), 0

    def supplement_notice(self, at: dt.datetime) -> None:
        self.supplement_count += 1

    def decided(self, at: dt.datetime, outcome: str) -> None:
        if self.paused_since is not None:
            self._resume(at)
        today = local_date(at)
        self.decided_at, self.outcome = at, outcome
        if self.forwarded_at is None:
            self.working_days_used = self.counted_days(today)
            self.on_time = today <= self.due
        self.delivery_due = workdays.add(today, DELIVERY_DAYS)
        self._stop()

    def answered(self, at: dt.datetime) -> None:
        """不予受理: the agency's answer, counted from the receipt; the applicant's supplement wait is not its time."""
        if self.paused_since is not None:
            self._resume(at)
        today = local_date(at)
        self.decided_at, self.outcome = at, "not_accepted"
        self.working_days_used = max(0, workdays.between(self.received_on, today) - self.supplement_wait)
        self.on_time = today <= self.due
        self._stop()

    def forwarded(self, at: dt.datetime) -> None:
        """上报 (Art. 43): the district's clock ends here; the higher authority's time is its own."""
        today = local_date(at)
        self.forwarded_at = at
        self.working_days_used = self.counted_days(today)
        self.on_time = today <= self.due
        self._stop()

    def extended(self, at: dt.datetime) -> None:
        self.extended_days = JOINT_EXTENSION_DAYS if self.kind == "joint" else EXTENSION_DAYS

    def delivered(self, at: dt.datetime, task_id: str | None = None) -> None:
        self.delivered_at = at
        truth = self.steps.get(task_id) if task_id else None
        if self.delivery_due is not None and local_date(at) > self.delivery_due and truth is not None \
                and not truth.delivery_flagged:
            truth.delivery_flagged = True
            self.warn("late_delivery", "red", truth, at)

    def ended(self, at: dt.datetime, outcome: str | None = None) -> None:
        """The process ended (or was withdrawn / ended by its timer)."""
        if self.closed_at is not None:
            return
        if outcome == "supplement_timeout":
            self.outcome = outcome
            self.pause, self.paused_since = None, None
        elif outcome == "withdrawn":
            if self.outcome is None:
                self.outcome = "withdrawn"
        elif self.outcome is None:
            self.outcome = outcome or "closed"
            if self.decided_at is None and self.forwarded_at is None:
                if self.paused_since is not None:
                    self._resume(at)
                self.working_days_used = self.counted_days(local_date(at))
                self.on_time = local_date(at) <= self.due
        self.pause, self.paused_since = None, None
        self.closed_at, self.light = at, None
        for truth in self.steps.values():
            if truth.closed is None:
                truth.closed = at

    # -- the sweep and the timers, as the replay expects them ------------------------------------------------------
    def warn(self, kind: str, level: str, truth: StepTruth | None, at: dt.datetime) -> None:
        self.warnings.append(Warning_(kind, level, truth.task_id if truth else None,
                                      truth.step.element_id if truth else None, at))

    def open_steps(self) -> list[StepTruth]:
        return [t for t in self.steps.values() if t.closed is None]

    def due_timers(self, at: dt.datetime) -> list[StepTruth]:
        """Steps whose boundary timer falls due by `at` while they are open (fired by the timer job)."""
        due = []
        for truth in self.open_steps():
            if truth.due is not None and truth.due <= at and not truth.escalated:
                truth.escalated = True
                due.append(truth)
        return due

    def sweep(self, at: dt.datetime) -> None:
        """What supervision's sweep at `at` must do to this case, in its order: spent pauses, the case's light,
        steps' lights, a late first review (Art. 43), special procedures' bounds (Art. 45), late deliveries."""
        if not self.is_open:
            return
        today = local_date(at)
        if self.pause == "special" and self.pause_limit is not None \
                and workdays.between(self.paused_since, today) > self.pause_limit:
            self.paused_days += self.pause_limit  # Art. 45: its bound spent, the days count again
            self.pause, self.paused_since, self.pause_limit = None, None, None
        if self.light is not None and self.paused_since is None:
            new = case_light(today, self.due, self.promised, self.s)
            if new != self.light:
                self.light = new
                if new in ("yellow", "red"):
                    self.warn(f"case_{new}", new, None, at)
        for truth in self.open_steps():
            if truth.due is None or truth.light is None:
                continue
            if truth.light == "red" or (truth.light == "yellow" and truth.due > at):
                continue
            new = step_light(at, truth.created, truth.due, self.s)
            if new != truth.light:
                truth.light = new
                if new in ("yellow", "red"):
                    self.warn(f"step_{new}", new, truth, at)
        for truth in self.open_steps():
            role = truth.step.role
            if role == "first_review" and not self.late_first_review and self.received_on < today:
                since = self.accepted_on or self.received_on
                if today > workdays.add(since, FIRST_REVIEW_DAYS + self.paused_days):
                    self.late_first_review = True
                    self.warn("late_first_review", "red", truth, at)
            elif role == "special_procedure" and not truth.special_red:
                bound = self.special_bound(truth.step)
                if bound is None:
                    continue
                used = workdays.between(local_date(truth.created), today)
                if used > bound:
                    truth.special_red, truth.special_flag = True, "red"
                    self.warn("special_overdue", "red", truth, at)
                elif used >= bound and truth.special_flag is None:
                    truth.special_flag = "yellow"
                    self.warn("special_overdue", "yellow", truth, at)
            elif role in ("deliver", "inform") and self.decided_at is not None and self.delivered_at is None \
                    and self.delivery_due is not None and self.delivery_due < today and not truth.delivery_flagged:
                truth.delivery_flagged = True
                self.warn("late_delivery", "red", truth, at)


def new_case(plan, matter: dict, s: Settings) -> CaseTruth:
    return CaseTruth(plan.n, plan.code, plan.kind, plan.department, matter["promised_days"],
                     plan.green and bool(matter.get("green_channel")), list(matter.get("special_procedures") or []), s)


# -- the figures the statistics must show ----------------------------------------------------------------------------
def completed(case: CaseTruth) -> bool:
    return case.closed_at is not None and case.outcome not in ("cancelled", "withdrawn", "supplement_timeout")


def p90(values: list[int]) -> int | None:
    values = sorted(values)
    return values[(9 * len(values) + 9) // 10 - 1] if values else None


def figures(cases: list[CaseTruth]) -> dict:
    """The statistics' figures of a group of cases, from the ledger (docs/api-statistics.md)."""
    judged = [c for c in cases if c.on_time is not None]
    days = [c.working_days_used for c in judged if c.working_days_used is not None]
    on_time = sum(1 for c in judged if c.on_time)
    return {
        "received": len(cases),
        "completed": sum(1 for c in cases if completed(c)),
        "open": sum(1 for c in cases if c.is_open),
        "decided": sum(1 for c in cases if c.decided_at is not None),
        "withdrawn": sum(1 for c in cases if c.outcome == "withdrawn"),
        "supplement_timeouts": sum(1 for c in cases if c.outcome == "supplement_timeout"),
        "on_time": on_time,
        "on_time_rate": round(100.0 * on_time / len(judged), 2) if judged else None,
        "avg_working_days": round(sum(days) / len(days), 2) if days else None,
        "p90_working_days": p90(days),
        "overdue": sum(1 for c in judged if c.on_time is False) + sum(1 for c in cases if c.is_open and c.light == "red"),
        "supplements": sum(c.supplement_count for c in cases),
        "refusals": sum(1 for c in cases if c.outcome == "refused"),
        "not_accepted": sum(1 for c in cases if c.outcome == "not_accepted"),
        "green_channel": sum(1 for c in cases if c.green),
    }


COMPARED = ("received", "completed", "open", "decided", "withdrawn", "supplement_timeouts", "on_time",
            "on_time_rate", "avg_working_days", "p90_working_days", "overdue", "supplements", "refusals",
            "not_accepted", "green_channel")
