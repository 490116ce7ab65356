"""The replay itself: a clock moved tick by tick over the trial's working days, the clerks' actions through the
HTTP API in time order, and the server's scheduled jobs (timers, AB岗 routing, the supervision sweep) run at each
tick as the scheduler would run them — while the ledger (`truth`) records what each action must mean.

A tick is `tick_minutes` long (30: 09:00, 09:30 … 17:00 on each working day). At each tick, in this order:
1. the first tick of a day: the AB岗 job (absences by date), then the supervisors' absences beginning today;
2. the timer job (`fire_due`): step limits passed at 17:00 open their escalations (督办); 补正期限 ends a case;
3. at the sweep times (09:00, 13:00, 17:00 by default): the supervision sweep, at this very moment;
4. the clerks' actions due at this tick (none at 17:00: the office closes), each case's in its own order.
Everything a tick does happens at the tick's time (the server's clock stands still while it runs).
"""

from __future__ import annotations

import datetime as dt
import heapq
import random
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from . import truth, workdays
from .driver import Api, form_data
from .hall import HALL, USERS, all_holders, diagram, process_key, short
from .plan import CasePlan, Plan
from .truth import SHANGHAI, CaseTruth, Settings

ADMIN = "admin"
CENTER = "yanliqun"  # 中心督查


@dataclass
class Options:
    tick_minutes: int = 30
    sweep_times: tuple[str, ...] = ("09:00", "13:00", "17:00")
    drain: bool = True  # go on until every case has ended
    stop_at: dt.datetime | None = None  # stop at this moment (the demo: now), cases left as they are
    tail_days: int = 150  # at most this many working days after the last arrival
    clients: int = 1  # cases worked at once within a tick (a server: threads; in process: 1)
    progress: bool = False


@dataclass
class Counters:
    requests: int = 0
    started: int = 0
    completed_steps: int = 0
    backup_steps: int = 0  # steps done at a backup post (AB岗)
    absences: int = 0
    extensions: int = 0
    withdrawals: int = 0
    messages: int = 0
    escalations_expected: int = 0
    escalations_found: int = 0
    supervised: int = 0
    timeouts: int = 0
    sweeps: int = 0
    ticks: int = 0
    timer_runs: int = 0
    waits: int = 0  # actions put off because nobody could do them that day


@dataclass
class Case:
    plan: CasePlan
    truth: CaseTruth
    matter: dict
    rng: random.Random
    id: str | None = None
    tasks: dict[str, dict] = field(default_factory=dict)
    data: dict = field(default_factory=dict)
    done: bool = False
    decided: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)


class Timeline:
    """Ticks of a working day: 09:00 … 17:00 every `minutes`; actions happen before 17:00."""

    def __init__(self, minutes: int) -> None:
        start, end = 9 * 60, 17 * 60
        self.minutes = [start + i * minutes for i in range((end - start) // minutes + 1)]
        if self.minutes[-1] != end:
            self.minutes.append(end)
        self.last_action = len(self.minutes) - 2

    def at(self, day: dt.date, slot: int) -> dt.datetime:
        minutes = self.minutes[slot]
        local = dt.datetime.combine(day, dt.time(minutes // 60, minutes % 60), SHANGHAI)
        return local.astimezone(dt.UTC)

    def slot_of(self, text: str) -> int | None:
        hours, minutes = (int(x) for x in text.split(":"))
        return self.minutes.index(hours * 60 + minutes) if hours * 60 + minutes in self.minutes else None


class Replay:
    """Drive a plan through the API (`api`) while `jobs` runs the scheduler's work on the same database."""

    def __init__(self, plan: Plan, api: Api, jobs, clock, options: Options | None = None,
                 settings: Settings | None = None, log=None) -> None:
        self.plan, self.api, self.jobs, self.clock = plan, api, jobs, clock
        self.options = options or Options()
        self.s = settings or Settings()
        self.timeline = Timeline(self.options.tick_minutes)
        self.sweep_slots = {self.timeline.slot_of(t) for t in self.options.sweep_times} - {None}
        self.holders = all_holders()
        self.cases = {p.n: Case(p, truth.new_case(p, plan.matters[p.code], self.s), plan.matters[p.code],
                                random.Random(plan.seed * 1_000_003 + p.n)) for p in plan.cases}
        self.absent: dict[str, tuple[dt.date, dt.date]] = {}
        self.active: dict[int, Case] = {}  # started, not ended: what the ticks look at
        self.epoch = 0  # bumped when an absence begins or ends: tasks of its posts may sit elsewhere now
        self.touched: dict[str, int] = {}  # post (or "user:name") -> the epoch its routing last changed
        self.returns: dict[dt.date, list[str]] = {}  # the clerks coming back on each day
        self.backups = {p["name"]: p.get("backup") for p in HALL["posts"]}
        self.queue: list = []
        self.seq = 0
        self.lock = threading.Lock()
        self.counters = Counters()
        self.errors: list[dict] = []
        self.notes: list[str] = []
        self.log = log or (lambda message: print(message, file=sys.stderr))
        self.started_at = self.finished_at = 0.0
        self.last_tick: dt.datetime | None = None
        self.days_run: list[dt.date] = []
        for case in self.cases.values():
            self.schedule(case.plan.day, case.plan.slot, "arrive", case.plan.n)
        for absence in plan.absences:
            self.schedule(absence.start, 0, "absence", None, absence, first=True)

    # -- the queue ---------------------------------------------------------------------------------------------
    def schedule(self, day: dt.date, slot: int, kind: str, n: int | None, payload=None, first: bool = False) -> None:
        with self.lock:
            self.seq += 1
            heapq.heappush(self.queue, (day.toordinal(), slot, 0 if first else 1, self.seq, kind, n, payload))

    def later(self, case: Case, days: int, day: dt.date, slot: int, kind: str, payload=None) -> None:
        """`days` working days on (0: later today), at a tick drawn from the case's own generator."""
        rng = case.rng
        if days <= 0 and slot < self.timeline.last_action:
            self.schedule(day, min(self.timeline.last_action, slot + rng.randint(1, 4)), kind, case.plan.n, payload)
            return
        target = workdays.add(day, max(days, 1) if days <= 0 else days)
        self.schedule(target, rng.randint(0, self.timeline.last_action) if days > 0 else rng.randint(0, 3),
                      kind, case.plan.n, payload)

    def _due(self, day: dt.date, slot: int) -> list:
        found = []
        with self.lock:
            while self.queue and (self.queue[0][0], self.queue[0][1]) <= (day.toordinal(), slot):
                found.append(heapq.heappop(self.queue))
        return found

    # -- the run -----------------------------------------------------------------------------------------------
    def run(self) -> Replay:
        self.started_at = time.monotonic()
        last_arrival = self.plan.days[-1]
        day = self.plan.days[0]
        tail = 0
        pool = ThreadPoolExecutor(self.options.clients) if self.options.clients > 1 else None
        try:
            while True:
                if not self._day(day, pool):
                    break
                self.days_run.append(day)
                if day >= last_arrival:
                    if self.options.stop_at is None and not self.options.drain:
                        break
                    if not self.active and not self.queue:
                        break
                    if not self.queue and not any(s.due is not None and not s.escalated
                                                  for c in self.active.values() for s in c.truth.open_steps()):
                        self.notes.append(f"停止：{len(self.active)} 个办件未办结，已无可办的步骤（见上方的意外应答）")
                        break
                    tail += 1
                    if tail > self.options.tail_days:
                        self.notes.append(f"停止：末次收件后 {self.options.tail_days} 个工作日仍有未办结的办件")
                        break
                day = workdays.next_workday(day)
        finally:
            if pool is not None:
                pool.shutdown()
            self.finished_at = time.monotonic()
            if self.options.progress:
                print(file=sys.stderr)
        self.counters.requests = self.api.requests
        return self

    def _day(self, day: dt.date, pool) -> bool:
        """One working day, tick by tick; False when the stop moment is reached."""
        for slot in range(len(self.timeline.minutes)):
            at = self.timeline.at(day, slot)
            if self.options.stop_at is not None and at > self.options.stop_at:
                return False
            self.clock(at)
            self.last_tick = at
            self.counters.ticks += 1
            if slot == 0:
                self.jobs.apply_absences(at)
                for username in self.returns.pop(day, []):
                    self._touch(username)
            self._timers(at)
            if slot in self.sweep_slots:
                for case in list(self.active.values()):
                    case.truth.sweep(at)
                self.jobs.sweep(at)
                self.counters.sweeps += 1
            events = self._due(day, slot)
            if events:
                self._work(events, day, slot, at, pool)
            if self.options.progress and slot == len(self.timeline.minutes) - 1:
                self._progress(day)
        return True

    def _work(self, events: list, day: dt.date, slot: int, at: dt.datetime, pool) -> None:
        """The tick's actions: absences first, then each case's actions in order, cases side by side."""
        by_case: dict[int, list] = {}
        for event in events:
            if event[4] == "absence":
                self._absence(event[6], at)
            else:
                by_case.setdefault(event[5], []).append(event)
        jobs = [(self.cases[n], items) for n, items in by_case.items()]
        if pool is None:
            for case, items in jobs:
                self._case_events(case, items, day, slot, at)
        else:
            for future in [pool.submit(self._case_events, case, items, day, slot, at) for case, items in jobs]:
                future.result()

    def _case_events(self, case: Case, items: list, day: dt.date, slot: int, at: dt.datetime) -> None:
        with case.lock:
            for _, _, _, _, kind, _, payload in items:
                try:
                    getattr(self, f"_on_{kind}")(case, payload, day, slot, at)
                except Exception as exc:  # a replay bug or an answer it did not expect: named, and the run goes on
                    self.error(case, kind, None, {"exception": repr(exc)})

    def _progress(self, day: dt.date) -> None:
        total = len(self.cases)
        started = sum(1 for c in self.cases.values() if c.id is not None)
        ended = sum(1 for c in self.cases.values() if c.done)
        width = 30
        filled = int(width * ended / total) if total else width
        seconds = time.monotonic() - self.started_at
        rate = started / seconds if seconds else 0
        print(f"\r[{'#' * filled}{'.' * (width - filled)}] {day.isoformat()}  收件 {started}/{total}  "
              f"办结 {ended}  在办 {started - ended}  请求 {self.api.requests}  {seconds:.0f}s  {rate:.1f} 件/s   ",
              end="", file=sys.stderr, flush=True)

    def error(self, case: Case | None, action: str, status: int | None, body) -> None:
        with self.lock:
            self.errors.append({"case": case.plan.n if case else None, "instance": case.id if case else None,
                                "matter": case.plan.code if case else None, "action": action, "status": status,
                                "body": str(body)[:300], "at": self.last_tick})

    # -- the scheduler's jobs ----------------------------------------------------------------------------------
    def _timers(self, at: dt.datetime) -> None:
        expected: list[tuple[Case, truth.StepTruth]] = []
        for case in list(self.active.values()):
            expected.extend((case, step) for step in case.truth.due_timers(at))
        advanced = self.jobs.fire_due(at)
        self.counters.timer_runs += advanced
        cases = len({id(c) for c, _ in expected})  # a case's timers due together fire in one step
        if advanced != cases:
            self.notes.append(f"{at.astimezone(SHANGHAI):%Y-%m-%d %H:%M}: 定时器任务推进了 {advanced} 个办件，"
                              f"台账预计 {cases} 个")
        for case in {id(c): c for c, _ in expected}.values():
            steps = [s for c, s in expected if c is case]
            status, body = self.api.call("GET", f"/instances/{case.id}", ADMIN)
            if status != 200:
                self.error(case, "timer", status, body)
                continue
            for step in steps:
                if step.step.interrupting:  # 补正期限: the case ends, not accepted in time
                    self.counters.timeouts += 1
                    if body["state"] != "completed":
                        self.error(case, "supplement_timeout", None, {"state": body["state"]})
                else:
                    self.counters.escalations_expected += 1
                    case.truth.escalations.append(step.step.element_id)
                    if not any(t["element_id"] == f"supervise_{step.step.element_id}" for t in body["tasks"]):
                        self.error(case, "escalation", None, {"missing": f"supervise_{step.step.element_id}"})
                    else:
                        self.counters.escalations_found += 1
            self._sync(case, body["tasks"], at, self.timeline.last_action + 1, at.astimezone(SHANGHAI).date())
            if body["state"] != "running":
                self._ended(case, at, "supplement_timeout" if any(s.step.interrupting for s in steps) else None)

    # -- the case's tasks --------------------------------------------------------------------------------------
    def _sync(self, case: Case, tasks: list[dict], at: dt.datetime, slot: int, day: dt.date) -> list[dict]:
        """The case's open tasks as the API answered: new ones opened (the ledger, their time), gone ones closed.
        Returns the new tasks to do at once (the same visit at the window)."""
        seen = {t["id"]: t for t in tasks}
        for task_id in [t for t in case.tasks if t not in seen]:
            case.truth.closed_step(task_id, at)
            del case.tasks[task_id]
        now = []
        for task in tasks:
            task["_epoch"] = self.epoch
            if task["id"] in case.tasks:
                case.tasks[task["id"]] = task
                continue
            case.tasks[task["id"]] = task
            step = diagram(case.plan.code).steps.get(task["element_id"])
            if step is None:
                self.error(case, "unknown_step", None, task)
                continue
            case.truth.opened(task["id"], step, at)
            when = self._delay(case, task, step.role, day)
            if when is None:
                continue
            if when == "now":
                now.append(task)
            else:
                self.later(case, when, day, slot, "task", task["id"])
        return now

    def _delay(self, case: Case, task: dict, role: str | None, day: dt.date):
        """When the plan does this step: "now" (the same visit), working days from today, or None (never)."""
        p = case.plan
        if role in ("accept", "supplement_notice", "not_accepted"):
            return "now"
        if role == "supplement_check":
            return None if p.supplement_end == "timeout" else p.supplement_days
        if role == "decide" and case.plan.kind == "immediate":
            return "now"
        if role == "review":
            return round(p.target * p.review_share)
        if role == "co_opinion":
            return p.co_days.get(diagram(p.code).steps[task["element_id"]].department, 1)
        if role == "coordinate":
            return p.coordinate_days
        if role == "special_procedure":
            specials = [s.element_id for s in diagram(p.code).steps.values() if s.role == "special_procedure"]
            index = specials.index(task["element_id"])
            return p.special_days[index] if index < len(p.special_days) else 1
        if role == "decide":
            return max(0, p.target - case.truth.counted_days(day))
        if role == "deliver":
            return p.deliver_days
        if role == "first_review":
            return p.first_review_days
        if role == "forward":
            return p.forward_days
        if role == "inform":
            return p.deliver_days
        if role == "supervise":
            return p.supervise_days
        return 1

    def available(self, username: str, day: dt.date) -> bool:
        spell = self.absent.get(username)
        return spell is None or not spell[0] <= day <= spell[1]

    def _actor(self, case: Case, task: dict, day: dt.date) -> str | None:
        """Who does the step: its assignee; else the plan's choice (联办 coordination); else whoever holds its post
        (or one of its further posts) and is at work today, the receiving clerk first."""
        if task.get("assignee"):
            return task["assignee"] if self.available(task["assignee"], day) else None
        role = diagram(case.plan.code).role(task["element_id"])
        if role == "coordinate":
            post = {"withdraw": f"{short(case.plan.dissent)}审核岗", "government": "区政府协调岗"}.get(
                case.plan.coordinate or "", task["post"])
            people = [u for u in self.holders.get(post, []) if self.available(u, day)]
            return people[0] if people else None
        posts = [task["post"], *task.get("other_posts", [])]
        people = [u for post in posts for u in self.holders.get(post, []) if self.available(u, day)]
        if not people:
            return None
        receiver = case.truth.receiver
        if receiver in people:
            return receiver
        return people[case.plan.n % len(people)]

    def _scenario(self, case: Case, role: str | None, task: dict) -> str:
        p = case.plan
        if role == "accept":
            if p.supplement_days is not None:
                return "supplemented"
            return "not_accepted" if p.path == "not_accepted" else "granted"
        if role == "supplement_check":
            return "supplement_refused" if p.supplement_end == "refused" else "supplemented"
        if role in ("review", "decide"):
            return "refused" if p.path == "refused" and p.coordinate != "refuse" else "granted"
        if role == "co_opinion":
            department = diagram(p.code).steps[task["element_id"]].department
            return "dissent" if department == p.dissent else "granted"
        if role == "coordinate":
            return "refused" if p.coordinate == "refuse" else "granted"
        return "granted"

    # -- the actions -------------------------------------------------------------------------------------------
    def _on_arrive(self, case: Case, _, day: dt.date, slot: int, at: dt.datetime) -> None:
        p = case.plan
        receiver = self._receiver(p, day)
        if receiver is None:
            self.counters.waits += 1
            self.schedule(workdays.next_workday(day), 0, "arrive", p.n)
            return
        body = {"business_key": p.business_key, "data": {"applicant": applicant(p)["name"], "green_channel": p.green},
                "applicant": applicant(p)}
        status, answer = self.api.call("POST", f"/process-definitions/{process_key(p.code)}/instances", receiver,
                                       json=body)
        if status != 201:
            self.error(case, "start", status, answer)
            case.done = True
            return
        self.counters.started += 1
        case.id = answer["id"]
        with self.lock:
            self.active[p.n] = case
        case.truth.received(at, receiver, answer["id"])
        self._visit(case, self._sync(case, answer["tasks"], at, slot, day), day, slot, at)

    def _receiver(self, p: CasePlan, day: dt.date) -> str | None:
        clerks = [u for u in self.holders.get(f"{short(p.department)}受理A岗", []) if self.available(u, day)]
        comprehensive = [u for u in self.holders.get("综合受理A岗", []) if self.available(u, day)]
        if p.at_comprehensive and comprehensive:
            return comprehensive[0]
        if clerks:
            return clerks[int(p.clerk_pick * len(clerks))]
        return comprehensive[0] if comprehensive else None

    def _visit(self, case: Case, now: list[dict], day: dt.date, slot: int, at: dt.datetime) -> None:
        """Steps done at once, one after another (the applicant is at the window)."""
        while now and not case.done:
            task = now.pop(0)
            now.extend(self._complete(case, task, day, slot, at) or [])

    def _on_task(self, case: Case, task_id: str, day: dt.date, slot: int, at: dt.datetime) -> None:
        task = case.tasks.get(task_id)
        if case.done or task is None:
            return
        self._visit(case, self._complete(case, task, day, slot, at) or [], day, slot, at)

    def _complete(self, case: Case, task: dict, day: dt.date, slot: int, at: dt.datetime) -> list[dict] | None:
        step = diagram(case.plan.code).steps[task["element_id"]]
        if self.stale(task):  # an absence began or ended since: where is it now, whose is it?
            status, fresh = self.api.call("GET", f"/tasks/{task['id']}", ADMIN)
            if status != 200 or fresh.get("state") != "open":
                self._refresh(case, at, slot, day)
                return None
            task = {**task, **{k: fresh.get(k) for k in ("post", "home_post", "other_posts", "assignee")},
                    "_epoch": self.epoch}
            case.tasks[task["id"]] = task
        actor = self._actor(case, task, day)
        if actor is None:  # nobody at work to do it today: tomorrow
            self.counters.waits += 1
            self.schedule(workdays.next_workday(day), case.rng.randint(0, 3), "task", case.plan.n, task["id"])
            return None
        data = form_data(step.form_key, case.matter, self._scenario(case, step.role, task), case.data)
        status, answer = self.api.call("POST", f"/tasks/{task['id']}/complete", actor, json={"data": data})
        if status != 200:
            self.error(case, f"complete {task['element_id']} as {actor}", status, answer)
            self._refresh(case, at, slot, day)
            return None
        self.counters.completed_steps += 1
        if task.get("post") != task.get("home_post") and task.get("home_post"):
            self.counters.backup_steps += 1
        if step.role == "supervise":
            self.counters.supervised += 1
        self._record(case, step, data, actor, task, at)
        now = self._sync(case, answer["next_tasks"], at, slot, day)
        if step.role == "forward" and answer["instance_state"] == "running":
            self.later(case, case.plan.reply_days, day, slot, "reply")
        if answer["instance_state"] != "running":
            self._ended(case, at)
            return None
        return now

    def _record(self, case: Case, step, data: dict, actor: str, task: dict, at: dt.datetime) -> None:
        """What the completed step means for the ledger (before the steps it opens)."""
        t, role = case.truth, step.role
        if role == "accept":
            t.owned(actor)  # 首问负责制: whoever completes the acceptance owns the case (its window counts it)
            if data.get("outcome") == "accept":
                t.accepted(at)
                self._after_acceptance(case, at)
            if data.get("missing_materials"):
                case.data["missing_materials"] = data["missing_materials"]
        elif role == "supplement_notice":
            t.supplement_notice(at)
        elif role == "supplement_check" and data.get("outcome") == "complete":
            t.accepted(at)
            self._after_acceptance(case, at)
        elif role == "not_accepted":
            t.answered(at)
        elif role == "decide":
            t.decided(at, "granted" if data.get("decision") == "grant" else "refused")
            case.decided = True
            if case.plan.kind == "immediate":
                t.delivered(at, task["id"])  # decided and delivered on the spot
        elif role == "coordinate" and data.get("coordination") == "refuse":
            t.decided(at, "refused")
            case.decided = True
        elif role == "forward":
            t.forwarded(at)
        elif role in ("deliver", "inform"):
            t.delivered(at, task["id"])

    def _after_acceptance(self, case: Case, at: dt.datetime) -> None:
        p, today = case.plan, case.truth.accepted_on
        if p.withdraw_days is not None:
            self.schedule(workdays.add(today, p.withdraw_days), case.rng.randint(0, self.timeline.last_action),
                          "withdraw", p.n)
        if p.extend:
            due = case.truth.due
            ask = workdays.add(today, max(1, workdays.between(today, due) - 1))
            self.schedule(min(ask, due), case.rng.randint(0, 5), "extend", p.n)

    def _refresh(self, case: Case, at: dt.datetime, slot: int, day: dt.date) -> None:
        status, body = self.api.call("GET", f"/instances/{case.id}", ADMIN)
        if status != 200:
            self.error(case, "refresh", status, body)
            return
        self._visit(case, self._sync(case, body["tasks"], at, slot, day), day, slot, at)
        if body["state"] != "running":
            self._ended(case, at)

    def _ended(self, case: Case, at: dt.datetime, outcome: str | None = None) -> None:
        case.truth.ended(at, outcome)
        case.tasks.clear()
        case.done = True
        with self.lock:
            self.active.pop(case.plan.n, None)

    def _on_reply(self, case: Case, _, day: dt.date, slot: int, at: dt.datetime) -> None:
        if case.done:
            return
        p = case.plan
        decision = "rejected" if p.path == "rejected" else "approved"
        sender = self._department_clerk(case, day)
        status, body = self.api.call("POST", "/messages", sender, json={
            "name": "higher_authority_reply", "business_key": p.business_key,
            "data": {"higher_decision": decision, "higher_opinion": f"{case.matter['higher_authority']}批复"}})
        if status != 200 or body.get("delivered_to") != [case.id]:
            self.error(case, "reply", status, body)
            return
        self.counters.messages += 1
        case.data["higher_decision"] = decision
        case.truth.decided(at, "higher_rejected" if decision == "rejected" else "higher_approved")
        case.decided = True
        self._refresh(case, at, slot, day)

    def _department_clerk(self, case: Case, day: dt.date) -> str:
        """Someone of the case's department who sees its cases (a backup clerk sees only the tasks of the post they
        cover): the receiving clerk, another window clerk, the reviewer, the supervisor."""
        department = short(case.plan.department)
        for who in (case.truth.receiver, *self.holders.get(f"{department}受理A岗", []),
                    *self.holders.get(f"{department}审核岗", []), *self.holders.get(f"{department}督查岗", [])):
            if who and USERS.get(who, {}).get("window") != 1 and self.available(who, day):
                return who
        return ADMIN

    def _on_withdraw(self, case: Case, _, day: dt.date, slot: int, at: dt.datetime) -> None:
        if case.done or case.decided:
            return
        clerk = case.truth.receiver if self.available(case.truth.receiver, day) else \
            self.holders[f"{short(case.plan.department)}督查岗"][0]
        status, body = self.api.call("POST", f"/instances/{case.id}/withdraw", clerk, json={
            "reason": "申请人书面申请撤回", "requested_by": applicant(case.plan)["name"]})
        if status != 200:
            self.error(case, "withdraw", status, body)
            return
        self.counters.withdrawals += 1
        self._ended(case, at, "withdrawn")

    def _on_extend(self, case: Case, _, day: dt.date, slot: int, at: dt.datetime) -> None:
        t = case.truth
        if case.done or case.decided or t.forwarded_at is not None or t.extended_days or day > t.due:
            return
        head = self.holders[f"{short(case.plan.department)}负责人岗"][0]
        status, body = self.api.call("POST", f"/instances/{case.id}/extend", head, json={
            "reason": "需要补充调查核实，经本机关负责人批准延长办理期限"})
        if status != 200:
            self.error(case, "extend", status, body)
            return
        self.counters.extensions += 1
        t.extended(at)

    def _absence(self, absence, at: dt.datetime) -> None:
        window = USERS[absence.username].get("window")
        department = next((w["department"] for w in HALL["windows"] if w["no"] == window), None)
        supervisor = self.holders[f"{short(department)}督查岗"][0] if department else CENTER
        body = {"username": absence.username, "start": absence.start.isoformat(), "end": absence.end.isoformat(),
                "reason": absence.reason}
        status, answer = self.api.call("POST", "/absences", supervisor, json=body)
        if status == 403:  # not theirs to record: the center's supervisor records it
            status, answer = self.api.call("POST", "/absences", CENTER, json=body)
        if status != 201:
            self.error(None, f"absence {absence.username}", status, answer)
            return
        self.counters.absences += 1
        self.absent[absence.username] = (absence.start, absence.end)
        self.returns.setdefault(workdays.next_workday(absence.end), []).append(absence.username)
        self._touch(absence.username)

    def _touch(self, username: str) -> None:
        """An absence began or ended: the clerk's posts, their backups and the clerk's own tasks may have moved."""
        self.epoch += 1
        for post in USERS[username].get("posts", []):
            self.touched[post] = self.epoch
            if self.backups.get(post):
                self.touched[self.backups[post]] = self.epoch
        self.touched[f"user:{username}"] = self.epoch

    def stale(self, task: dict) -> bool:
        seen = task.get("_epoch", -1)
        keys = [task.get("post"), task.get("home_post"), *task.get("other_posts", []),
                self.backups.get(task.get("home_post") or ""), f"user:{task.get('assignee')}"]
        return any(self.touched.get(k or "", -1) > seen for k in keys)


NAMES = ("无锡市宏达机械制造有限公司", "无锡市锡东建设工程有限公司", "无锡华程物业管理有限公司", "无锡市新吴餐饮有限公司",
         "无锡市惠山印务有限公司", "无锡市太湖环境工程有限公司", "无锡市金城房地产开发有限公司", "无锡市蓝天商贸有限公司")
PEOPLE = ("张建国", "王秀英", "李伟", "刘芳", "陈静", "杨洋", "赵敏", "黄磊", "周婷", "吴刚", "徐丽", "孙强")


def _resident_id(base17: str) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return base17 + "10X98765432"[sum(int(d) * w for d, w in zip(base17, weights, strict=True)) % 11]


def _org_code(base8: str) -> str:
    total = sum(int(c, 36) * w for c, w in zip(base8, (3, 7, 9, 10, 5, 8, 4, 2), strict=True))
    check = 11 - total % 11
    return base8 + "-" + {10: "X", 11: "0"}.get(check, str(check))


def applicant(p: CasePlan) -> dict:
    """A valid applicant for the case (identifiers with their check digits, made up from its number)."""
    if p.person:
        name = PEOPLE[p.n % len(PEOPLE)]
        born = dt.date(1950, 1, 1) + dt.timedelta(days=(p.n * 37) % 15000)
        return {"kind": "person", "name": name, "id_type": "resident_id",
                "id_number": _resident_id(f"320211{born:%Y%m%d}{p.n % 1000:03d}"),
                "phone": f"139{p.n % 100000000:08d}"}
    return {"kind": "organisation", "name": NAMES[p.n % len(NAMES)], "id_type": "org_code",
            "id_number": _org_code(f"{(13579 + p.n * 7919) % 100000000:08d}"), "phone": "0510-85231234",
            "legal_representative": PEOPLE[(p.n + 3) % len(PEOPLE)],
            "agent": {"name": PEOPLE[(p.n + 5) % len(PEOPLE)], "id_type": "resident_id",
                      "id_number": _resident_id(f"32021119850101{p.n % 1000:03d}"), "phone": "13812345678"}}
