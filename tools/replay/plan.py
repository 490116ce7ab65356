"""Who comes when, with which matter, and how each case should go: the replay's script, drawn from a seeded
random generator so that a run can be repeated.

The seed's trial (its annual report): 7,901 cases received from 2008-10-28 over "two months and more" — the 47
working days to 2008-12-31 — at 23 windows with 22 clerks, every case closed, 176 consultations. The shares below
are the replay's assumptions (the seed gives none): a district hall of 2008 received mostly 即办件 (registrations,
filings, certificates over the counter), a large minority of 承诺件, a few 上报件 and 联办件; 答复件 (不予受理) and
补办件 (补正) are outcomes of single cases.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass, field

from . import workdays
from .hall import HALL, all_holders, catalog, diagram, short

TRIAL_START = dt.date(2008, 10, 28)
TRIAL_END = dt.date(2008, 12, 31)
TRIAL_CASES = 7901
TRIAL_CONSULTATIONS = 176

# matter volumes (relative): by kind, then the counters of a 2008 district hall that see queues every day
KIND_WEIGHT = {"immediate": 2.6, "promised": 1.0, "joint": 0.35, "reported": 0.45}
BUSY = {
    "32021300WS-GG-0001": 9.0,  # 从业人员健康证明: the health bureau's queue
    "32021300WS-XK-0012": 3.0,  # 食品卫生许可证
    "32021300RL-BA-0002": 4.0,  # 劳动用工备案
    "32021300RL-GG-0002": 2.5,  # 就业登记
    "32021300RL-GG-0003": 2.0,  # 失业登记
    "32021300RL-GG-0004": 2.0,  # 人事代理
    "32021300RL-QR-0001": 2.5,  # 社会保险登记
    "32021300RL-JF-0001": 2.0,  # 失业保险金申领
    "32021300FJ-BA-0001": 4.0,  # 商品房买卖合同登记备案
    "32021300FJ-BA-0002": 2.0,  # 房屋租赁登记备案
    "32021300FJ-GG-0001": 2.5,  # 房屋登记资料查询
    "32021300FJ-QR-0002": 3.0,  # 房屋所有权转移登记
    "32021300FJ-QR-0003": 3.0,  # 房屋抵押权设立登记
    "32021300FJ-QR-0001": 1.5,  # 房屋所有权首次登记
    "32021300ZZ-GG-0001": 1.5,  # 党员组织关系转接
    "32021300CZ-GG-0001": 1.5,  # 财政票据领购
    "32021300CG-XK-0008": 1.5,  # 临时性户外宣传品设置
    "32021300CG-XK-0002": 1.5,  # 占用城市道路许可
}
WEEKDAY = (1.2, 1.05, 1.0, 1.0, 0.85, 0.6, 0.6)  # Monday's queue is the longest; 调休 Saturdays are quieter
SLOT_WEIGHT_MORNING, SLOT_WEIGHT_LUNCH, SLOT_WEIGHT_AFTERNOON = 1.5, 0.25, 1.0


@dataclass(frozen=True)
class Rates:
    """How often each thing happens (shares of the cases that can have it)."""

    not_accepted: float = 0.02  # 答复件: 不予受理 at the window
    supplement: dict = field(default_factory=lambda: {"immediate": 0.04, "promised": 0.10, "joint": 0.15,
                                                      "reported": 0.12})  # 补办件
    supplement_refused: float = 0.05  # of supplements: still incomplete, 不予受理
    supplement_timeout: float = 0.02  # of supplements: the applicant never returns (补正超时, 30 working days)
    refused: dict = field(default_factory=lambda: {"immediate": 0.01, "promised": 0.03, "joint": 0.04})
    rejected: float = 0.10  # 上报件 the higher authority refuses
    withdrawn: float = 0.008  # 撤件 before the decision (not 即办件)
    green: float = 0.3  # of a green-channel matter's cases
    late: float = 0.025  # decided after the due date (承诺件, 联办件), no extension asked
    extended: float = 0.015  # 延期 by the head, then decided within the new date
    dissent: float = 0.25  # 联办件 with a co-department's dissent
    special_overrun: float = 0.04  # a special procedure past its bound
    late_delivery: float = 0.005  # delivered after Art. 44's 10 working days
    comprehensive: float = 0.05  # received at the comprehensive window (综合窗口)
    absences: float = 0.6  # absence spells per window clerk per month
    late_first_review: float = 0.0  # 上报件 first review past Art. 43's 20 days (none in the trial)
    timeout_days_left: int = 15  # 补正超时 only for cases arriving this many working days before the last day


@dataclass
class CasePlan:
    """One case's script; what actually happened is in the ledger (truth.CaseTruth)."""

    n: int
    code: str
    kind: str
    department: str
    day: dt.date
    slot: int  # tick of the day it arrives (0: 09:00)
    at_comprehensive: bool
    clerk_pick: float  # which of the department's window clerks (a uniform draw)
    person: bool
    green: bool
    path: str  # granted | refused | not_accepted | approved | rejected
    supplement_days: int | None = None  # working days the applicant takes to bring the missing materials
    supplement_end: str | None = None  # complete | refused | timeout
    target: int = 0  # the decision, in working days after acceptance that count (承诺件, 联办件)
    review_share: float = 0.5
    special_days: tuple = ()  # per special procedure of the diagram, in order
    co_days: dict = field(default_factory=dict)  # 联办件: each co-department's opinion, working days
    dissent: str | None = None  # the co-department that does not agree
    coordinate: str | None = None  # withdraw | government | refuse
    coordinate_days: int = 1
    extend: bool = False
    withdraw_days: int | None = None  # 撤件, working days after acceptance
    first_review_days: int = 1  # 上报件
    forward_days: int = 0
    reply_days: int = 5  # the higher authority's working days
    deliver_days: int = 0
    supervise_days: int = 0  # the supervisor's response to an escalation

    @property
    def business_key(self) -> str:
        return f"REPLAY-{self.day:%Y%m%d}-{self.n:05d}"


@dataclass(frozen=True)
class Absence:
    username: str
    start: dt.date
    end: dt.date
    reason: str


@dataclass
class Plan:
    days: list[dt.date]
    cases: list[CasePlan]
    absences: list[Absence]
    matters: dict[str, dict]
    seed: int
    rates: Rates

    def kinds(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for case in self.cases:
            counts[case.kind] = counts.get(case.kind, 0) + 1
        return counts


def trial_days(start: dt.date = TRIAL_START, days: int | None = None, end: dt.date = TRIAL_END) -> list[dt.date]:
    """The working days cases arrive on: `days` of them from `start`, or all to `end`."""
    if days is None:
        return workdays.working_days(start, end)
    found, day = [], start
    while len(found) < days:
        if workdays.is_workday(day):
            found.append(day)
        day += workdays.ONE_DAY
    return found


def _spread(total: int, weights: list[float]) -> list[int]:
    """`total` split by `weights`, whole numbers adding up exactly (largest remainders)."""
    whole = sum(weights)
    raw = [total * w / whole for w in weights]
    counts = [math.floor(r) for r in raw]
    for i in sorted(range(len(raw)), key=lambda i: raw[i] - counts[i], reverse=True)[: total - sum(counts)]:
        counts[i] += 1
    return counts


def _slots(per_day: int) -> list[float]:
    """Weights of the arrival ticks of a day (09:00 … 16:30 every 30 minutes): the morning queue, lunch."""
    weights = []
    for slot in range(per_day):
        minutes = 9 * 60 + slot * 30
        if minutes < 12 * 60:
            weights.append(SLOT_WEIGHT_MORNING)
        elif minutes < 13 * 60 + 30:
            weights.append(SLOT_WEIGHT_LUNCH)
        else:
            weights.append(SLOT_WEIGHT_AFTERNOON)
    return weights


def make(cases: int = TRIAL_CASES, days: list[dt.date] | None = None, seed: int = 2008, rates: Rates | None = None,
         slots: int = 16, matters: list[dict] | None = None) -> Plan:
    """The replay's script: `cases` cases over the working days `days` (default: the trial's 47)."""
    rng = random.Random(seed)
    rates = rates or Rates()
    days = days or trial_days()
    listed = [m for m in (matters or catalog()) if m.get("cancelled_on") is None]
    weights = [KIND_WEIGHT[m["kind"]] * BUSY.get(m["code"], 1.0) for m in listed]
    ramp = [0.7 if i < 3 else 1.0 for i in range(len(days))]  # the first days of the trial are quieter
    per_day = _spread(cases, [WEEKDAY[d.weekday()] * r for d, r in zip(days, ramp, strict=True)])
    slot_weights = _slots(slots)
    plans: list[CasePlan] = []
    for day, count in zip(days, per_day, strict=True):
        arrivals = sorted(rng.choices(range(slots), weights=slot_weights, k=count))
        for slot in arrivals:
            matter = rng.choices(listed, weights=weights)[0]
            plans.append(_case(rng, rates, len(plans) + 1, matter, day, slot, len(days) - days.index(day)))
    return Plan(days, plans, _absences(rng, rates, days), {m["code"]: m for m in listed}, seed, rates)


def _case(rng: random.Random, rates: Rates, n: int, matter: dict, day: dt.date, slot: int, days_left: int) -> CasePlan:
    kind, promised = matter["kind"], matter["promised_days"]
    person = matter["type"] in ("公共服务", "行政给付") or matter["department"] in ("zzb", "zgh") or rng.random() < 0.3
    green = bool(matter.get("green_channel")) and rng.random() < rates.green
    case = CasePlan(n, matter["code"], kind, matter["department"], day, slot, rng.random() < rates.comprehensive,
                    rng.random(), person, green, "approved" if kind == "reported" else "granted")
    if green:
        promised = max(1, math.floor(promised * 0.5))
    draw = rng.random()
    if draw < rates.not_accepted:
        case.path = "not_accepted"
        return case
    if rng.random() < rates.supplement[kind]:
        case.supplement_days = rng.choice((1, 1, 2, 2, 3, 4, 5, 7))
        end = rng.random()
        if end < rates.supplement_timeout and days_left > rates.timeout_days_left:  # 30 working days to run
            case.supplement_end = "timeout"
        elif end < rates.supplement_timeout + rates.supplement_refused:
            case.supplement_end = "refused"
            case.path = "not_accepted"
        else:
            case.supplement_end = "complete"
    if kind == "reported":
        case.path = "rejected" if rng.random() < rates.rejected else "approved"
        case.first_review_days = rng.randint(0, max(0, promised - 1))
        if rng.random() < rates.late_first_review:
            case.first_review_days = 21 + rng.randint(0, 2)
        case.forward_days = rng.choice((0, 0, 1))
        case.reply_days = rng.randint(3, 12)
    elif kind != "immediate":
        if rng.random() < rates.refused.get(kind, 0):
            case.path = "refused"
        low = max(1, promised // 4)
        case.target = max(low, min(promised, round(rng.triangular(low, promised, promised * 0.6))))
        late = rng.random()
        if late < rates.late:
            case.target = promised + rng.randint(1, 3)
        elif late < rates.late + rates.extended and promised >= 5:
            case.extend = True
            case.target = promised + rng.randint(2, 6)
        case.review_share = rng.uniform(0.3, 0.7)
    elif rng.random() < rates.refused.get(kind, 0):
        case.path = "refused"
    steps = diagram(matter["code"]).steps.values()
    specials = [s for s in steps if s.role == "special_procedure"]
    case.special_days = tuple(
        (s.max_days or 5) + rng.randint(1, 3) if rng.random() < rates.special_overrun
        else rng.randint(1, max(1, s.max_days or 5)) for s in specials)
    if kind == "joint":
        cos = [s.department for s in steps if s.role == "co_opinion"]
        case.co_days = {d: rng.randint(1, max(1, case.target - 2)) for d in cos}
        if cos and rng.random() < rates.dissent:
            case.dissent = rng.choice(cos)
            case.coordinate = rng.choices(("withdraw", "government", "refuse"), weights=(0.6, 0.3, 0.1))[0]
            case.coordinate_days = rng.randint(1, 3)
            if case.coordinate == "refuse":
                case.path = "refused"
    if kind != "immediate" and case.path != "not_accepted" and rng.random() < rates.withdrawn:
        case.withdraw_days = rng.randint(1, max(1, min(promised, 5) - 1))
    case.deliver_days = rng.choice((0, 0, 0, 1, 1, 2, 3))
    if rng.random() < rates.late_delivery:
        case.deliver_days = 11 + rng.randint(0, 2)
    case.supervise_days = rng.choice((0, 1))
    return case


def _absences(rng: random.Random, rates: Rates, days: list[dt.date]) -> list[Absence]:
    """Spells of leave (请假) of the window clerks, one clerk away at a time, recorded the morning they begin."""
    clerks = [u["username"] for u in HALL["users"] if u.get("window")]
    months = max(1.0, len(days) / 21)
    wanted = round(len(clerks) * rates.absences * months)
    taken: set[dt.date] = set()
    spells = []
    reasons = ("病假", "事假", "年休假", "外出培训", "婚假")
    for _ in range(wanted * 3):
        if len(spells) >= wanted or len(days) < 3:
            break
        first = rng.randrange(1, len(days) - 1)
        length = rng.choice((1, 1, 2, 2, 3))
        span = days[first:first + length]
        if any(d in taken for d in span):
            continue
        taken.update(span)
        spells.append(Absence(rng.choice(clerks), span[0], span[-1], rng.choice(reasons)))
    return sorted(spells, key=lambda a: a.start)


def holders() -> dict[str, list[str]]:
    return all_holders()


def window_clerks(department: str) -> list[str]:
    return all_holders().get(f"{short(department)}受理A岗", [])
