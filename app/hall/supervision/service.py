"""Electronic supervision (电子监察): lights of cases and steps, warnings, and the sweep that raises them.

Lights
* A case (of a matter, clock running): red when today (Asia/Shanghai) is after its due date; yellow when the
  working days left (`working_days_between(today, due_date)`) are at most
  `max(TONGBAN_YELLOW_DAYS, ceil(TONGBAN_YELLOW_RATIO × promised_days))`, capped at `promised_days − 1` so that
  no case starts yellow; else green. A paused case keeps its light: its clock is stopped.
* A step (an open user task with a deadline, `due_at` = its boundary timer): red from its deadline on; yellow in
  the last `TONGBAN_YELLOW_RATIO` of its span (created → deadline), or when at most `TONGBAN_YELLOW_DAYS` working
  days are left before the deadline's date (capped like a case's, by the step's own span in working days).

The sweep (`sweep(now)`, every `TONGBAN_SUPERVISION_POLL_SECONDS` in the server's scheduler) visits only what
can change now: each open case keeps the first date its light can change (`hall_case.look_on`), each open step the
moment its light changes next (`hall_task.watch_from`) and, for a role the law times, the first date its rule can
give another verdict (`hall_task.look_on`); each part reads them page by page through partial indexes of open
rows. A change to yellow or red raises one warning (kind
`case_yellow`/`case_red`/`step_yellow`/`step_red`), to the department's `{short}督查岗`, and an audit entry
`supervision.warning`; the row's light is updated with a guarded UPDATE, so two sweeping processes never raise
the same warning twice. A light going back closes the warnings above it. The same sweep raises
`late_first_review` (Art. 43) and closes warnings whose case or step is over.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from ...audit import service as audit
from ...calendar import service as calendar
from ...clock import SHANGHAI, as_utc, now
from ...errors import Conflict, NotFound
from ...extensions import db
from ...instances.models import ProcessInstance
from ...models_base import paged
from ...tasks.models import UserTask
from .. import cases, course, vocabulary
from ..models import LOOK_NOW, LOOK_NOW_AT, HallCase, HallTask
from . import clock as case_clock
from .clock import CLOSE_WITH_CASE, local_date
from .models import ClockEvent, SupervisionWarning

LEVELS = ("yellow", "red")
KINDS = ("case_yellow", "case_red", "step_yellow", "step_red", "refusal_without_reasons", "late_first_review",
         "special_overdue", "late_delivery", "late_supplement_notice")
KIND_NAMES = {"case_yellow": "办件黄灯预警", "case_red": "办件红灯（超期）", "step_yellow": "环节黄灯预警",
              "step_red": "环节红灯（超期）", "refusal_without_reasons": "不予许可未说明理由",
              "late_first_review": "上报件初审超期", "special_overdue": "特别程序超过时限",
              "late_delivery": "决定送达超期", "late_supplement_notice": "补正告知超期（视为受理）"}
OPEN_STATES = ("running", "error", "suspended")  # a case stopped by an incident or by ops is still open, and still late
FIRST_REVIEW_DAYS = 20  # Art. 43: a lower authority's first review within 20 days
_SWEEP_LOCK = 0x746F6E67  # PostgreSQL advisory lock: one sweeping process at a time
STEP_KINDS = ("step_yellow", "step_red", "special_overdue", "late_delivery")  # they close with their step
WARNED_ROLES = (vocabulary.Step.SPECIAL_PROCEDURE, vocabulary.Step.DELIVER, vocabulary.Step.INFORM)
# A sweep with much to do (the first after an import, or after the server was down) commits in chunks: a case's
# row, locked by the light's guarded UPDATE, is held at most this long, never for the whole catch-up
CHUNK_SECONDS = 0.5
CHUNK_ROWS = 500
COUNT_CAP = 10_000  # warnings counted at most for a list (after an import there may be a hundred thousand open)
TIDY_SLICE = 500  # open warnings the safety net looks at per sweep


@dataclass(frozen=True)
class Settings:
    yellow_days: int
    yellow_ratio: float


def settings() -> Settings:
    config = current_app.config
    return Settings(int(config.get("YELLOW_DAYS", 1)), float(config.get("YELLOW_RATIO", 0.2)))


# -- lights ------------------------------------------------------------------------------------------------------
def yellow_threshold(promised_days: int, s: Settings) -> int:
    """Working days left at (or under) which a case is yellow; never the whole limit (a case starts green)."""
    return min(max(s.yellow_days, math.ceil(s.yellow_ratio * promised_days)), promised_days - 1)


def case_light(today: date, due: date, promised_days: int, cal, s: Settings) -> str:
    if today > due:
        return "red"
    if cal.working_days_between(today, due) <= yellow_threshold(promised_days or 0, s):
        return "yellow"
    return "green"


def step_light(at: datetime, created_at: datetime, due_at: datetime, cal, s: Settings) -> str:
    at, created_at, due_at = as_utc(at), as_utc(created_at), as_utc(due_at)
    if at >= due_at:
        return "red"
    if due_at - at <= (due_at - created_at) * s.yellow_ratio:
        return "yellow"
    due_day = local_date(due_at)
    span_days = cal.working_days_between(local_date(created_at), due_day)
    if cal.working_days_between(local_date(at), due_day) <= min(s.yellow_days, span_days - 1):
        return "yellow"
    return "green"


def turns_on(due: date, left: int, cal) -> date | None:
    """The first date from which at most `left` working days remain up to `due` (`working_days_between(d, due) <=
    left`): the (left+1)-th working day counted back from `due`; None when `left` is negative (never)."""
    if left < 0:
        return None
    day, found = due, 0
    for _ in range(800):  # further back than any limit reaches
        if cal.is_workday(day):
            found += 1
            if found == left + 1:
                return day
        day -= timedelta(days=1)
    return day


def local_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=SHANGHAI).astimezone(UTC)


def watch_from(created_at: datetime, due_at: datetime | None, cal=None, s: Settings | None = None) -> datetime | None:
    """The moment a step turns yellow (`step_light`): the last `yellow_ratio` of its span, or the local midnight
    from which at most `yellow_days` working days remain (never its whole span), whichever comes first — the sweep
    leaves a green step alone until then."""
    if due_at is None:
        return None
    s, cal = s or settings(), cal or calendar.workday_calendar()
    created_at, due_at = as_utc(created_at), as_utc(due_at)
    moments = [due_at, due_at - (due_at - created_at) * s.yellow_ratio]
    due_day = local_date(due_at)
    span_days = cal.working_days_between(local_date(created_at), due_day)
    day = turns_on(due_day, min(s.yellow_days, span_days - 1), cal)
    if day is not None:
        moments.append(local_midnight(day))
    return min(moments)


def case_look_on(light: str, due: date, promised_days: int, cal, s: Settings) -> date | None:
    """The first date a running case's light can change: yellow as `case_light` has it, red the day after its due
    date; a red case's changes only with its due date (a write that sets `look_on` again)."""
    red = due + timedelta(days=1)
    if light == "red":
        return None
    if light == "yellow":
        return red
    yellow = turns_on(due, yellow_threshold(promised_days or 0, s), cal)
    return red if yellow is None else min(yellow, red)


# -- messages ----------------------------------------------------------------------------------------------------
def _case_name(business_key: str | None, instance_id: str) -> str:
    return f"办件 {business_key or instance_id[:8]} "


def case_message(level: str, matter_name: str | None, business_key: str | None, instance_id: str, due: date,
                 left: int) -> str:
    head = f"事项「{matter_name}」{_case_name(business_key, instance_id)}"
    if level == "red":
        return f"{head}已超过承诺办结期限（应于 {due.isoformat()} 前办结），已升级至督查岗督办"
    return f"{head}即将到期：剩余 {left} 个工作日，应于 {due.isoformat()} 前办结"


def step_message(level: str, matter_name: str | None, business_key: str | None, instance_id: str, task_name: str,
                 due_at: datetime, case_due: date | None) -> str:
    head = (f"事项「{matter_name}」" if matter_name else "") + _case_name(business_key, instance_id)
    deadline = as_utc(due_at).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    tail = f"（办件应于 {case_due.isoformat()} 前办结）" if case_due else ""
    state = "已超期" if level == "red" else "即将超期"
    return f"{head}的环节「{task_name}」{state}，环节期限 {deadline}{tail}"


def refusal_message(matter_name: str | None, case) -> str:
    due = f"，办件应于 {case.due_date.isoformat()} 前办结" if case.due_date else ""
    return (f"事项「{matter_name}」{_case_name(case.business_key, case.instance_id)}"
            f"作出不予许可决定但未说明理由"
            f"（《行政许可法》第三十八条）{due}")


def late_review_message(matter_name: str | None, business_key: str | None, instance_id: str, received: date,
                        deadline: date, due: date | None) -> str:
    tail = f"，办件应于 {due.isoformat()} 前办结" if due else ""
    return (f"上报件事项「{matter_name}」{_case_name(business_key, instance_id)}于 {received.isoformat()} 收件，"
            f"初审超过 {FIRST_REVIEW_DAYS} 个工作日仍未完成（应于 {deadline.isoformat()} 前初审并上报，"
            f"《行政许可法》第四十三条）{tail}")


def warning_details(warning: SupervisionWarning) -> dict:
    return {"warning_id": warning.id, "kind": warning.kind, "level": warning.level, "post": warning.post,
            "department": warning.department_code, "message": warning.message}


# -- the sweep ---------------------------------------------------------------------------------------------------
class _Context:
    """What one sweep shares: the time, the calendar, settings, matter names and supervisors' posts."""

    def __init__(self, at: datetime, commit: bool = False) -> None:
        from ...matters.models import Matter
        from ...people.models import Post

        self.at = as_utc(at)
        self.commit, self.began, self.pending = commit, None, 0
        self.today = local_date(self.at)
        self.cal = calendar.workday_calendar()
        self.settings = settings()
        self._names: dict[str, str] | None = None
        self._posts: dict[str | None, str] | None = None
        self._matter, self._post = Matter, Post
        self.counts = {"case_lights": 0, "step_lights": 0, "raised": 0, "closed": 0, "pauses_spent": 0}
        self.raised: list[SupervisionWarning] = []
        self.looks: dict[date | None, list[str]] = {}  # steps' next look (`hall_task.look_on`), written together
        self.tomorrow = self.today + timedelta(days=1)

    def look(self, task_id: str, on: date | None) -> None:
        """When the sweep's date-granular rules look at this step again (None: not while it stays as it is)."""
        self.looks.setdefault(on, []).append(task_id)
        self.wrote()

    def write_looks(self) -> None:
        for on, ids in self.looks.items():
            for start in range(0, len(ids), 1000):
                db.session.execute(sa.update(HallTask).where(HallTask.task_id.in_(ids[start:start + 1000]))
                                   .values(look_on=on).execution_options(synchronize_session=False))
        self.looks = {}

    def matter_name(self, code: str | None) -> str | None:
        if code is None:
            return None
        if self._names is None:
            self._names = dict(db.session.execute(sa.select(self._matter.code, self._matter.name)).all())
        return self._names.get(code, code)

    def supervise_post(self, department: str | None) -> str | None:
        """The department's {short}督查岗; the center's own (no department) for cases of no department."""
        if self._posts is None:
            self._posts = {}
            for name, dept in db.session.execute(
                    sa.select(self._post.name, self._post.department_code).where(self._post.kind == "supervise")
                    .order_by(self._post.name)).all():
                self._posts.setdefault(dept, name)
        return self._posts.get(department)

    def raise_warning(self, *, instance_id: str, kind: str, level: str, department: str | None, message: str,
                      task_id: str | None = None) -> SupervisionWarning:
        warning = SupervisionWarning(instance_id=instance_id, task_id=task_id, kind=kind, level=level,
                                     department_code=department, post=self.supervise_post(department),
                                     message=message, raised_at=self.at, state="open")
        db.session.add(warning)
        self.wrote()
        self.raised.append(warning)
        self.counts["raised"] += 1
        return warning

    def wrote(self) -> None:
        """A write of the chunk (its row locks are held from the first one)."""
        if self.commit:
            self.began = self.began or time.monotonic()
            self.pending += 1

    def checkpoint(self) -> None:
        """Between two rows' work (a light and its warnings commit together): in a committing sweep, the chunk is
        committed once it is old or big enough."""
        if self.commit and self.pending and (self.pending >= CHUNK_ROWS
                                             or time.monotonic() - self.began >= CHUNK_SECONDS):
            self.flush()

    def flush(self) -> None:
        """Commit what is done; the next chunk goes on only under the sweep's lock again (a transaction's lock
        ends with it: another process that took it meanwhile carries on with the same work)."""
        self.write_looks()
        _audit_raised(self)
        self.raised = []
        db.session.commit()
        self.began, self.pending = None, 0
        if not _locked():
            raise _Yielded

    def close(self, condition, note: str) -> None:
        result = db.session.execute(sa.update(SupervisionWarning).where(SupervisionWarning.state == "open", condition)
                                    .values(state="closed", closed_at=self.at, note=note)
                                    .execution_options(synchronize_session=False))
        self.counts["closed"] += result.rowcount or 0
        if result.rowcount:
            self.wrote()


class _Yielded(Exception):
    """Another process holds the sweep's lock after a chunk's commit."""


PAGE = 500  # rows a part of the sweep reads at a time


def _paged(ctx: _Context, query, *order, key=lambda row: row[0]):
    """The rows of `query` in the order of its partial index, a page at a time: the planner walks the index
    whatever its statistics say (after a catch-up they may count a hundred thousand stale rows), and a part with
    much to do holds no more than a page. Each page is read after the last one's work is written (its rows have
    left the range); a row met again in the same sweep (its guarded write lost a race) waits for the next sweep."""
    seen: set = set()
    while True:
        if ctx.commit and ctx.pending:
            ctx.flush()  # the page's read holds no row lock of the last page's writes
        else:
            ctx.write_looks()
        page = db.session.execute(query.order_by(*order).limit(PAGE)).all()
        fresh = [row for row in page if key(row) not in seen]
        seen.update(key(row) for row in fresh)
        yield from fresh
        if len(page) < PAGE or not fresh:
            return


def _locked() -> bool:
    return db.engine.dialect.name != "postgresql" or bool(db.session.scalar(
        sa.select(sa.func.pg_try_advisory_xact_lock(_SWEEP_LOCK))))


def sweep(at: datetime | None = None, *, commit: bool = True) -> dict[str, int]:
    """Bring lights in line with the time and raise or close warnings; returns what it did. With `commit`, a
    long sweep commits in chunks (CHUNK_SECONDS); without, everything stays in the caller's transaction."""
    ctx = _Context(at or now(), commit)
    if not _locked():
        db.session.rollback()
        return {**ctx.counts, "skipped": 1}
    try:
        _tidy(ctx)
        _spent_pauses(ctx)
        _case_lights(ctx)
        _step_lights(ctx)
        _late_first_reviews(ctx)
        _special_bounds(ctx)
        _late_deliveries(ctx)
        _late_supplement_notices(ctx)
    except _Yielded:
        db.session.rollback()
        return {**ctx.counts, "skipped": 1}
    ctx.write_looks()
    _audit_raised(ctx)
    if commit:
        db.session.commit()
    return ctx.counts


def relight(instance_ids: list[str], at: datetime | None = None) -> dict[str, int]:
    """The lights and warnings of these cases now (their due dates moved: a calendar change), in the caller's
    transaction; the rest waits for the sweep."""
    ctx = _Context(at or now())
    if instance_ids:
        _case_lights(ctx, only=instance_ids)
        _audit_raised(ctx)
    return ctx.counts


def look_again_from(first: date) -> None:
    """A calendar change from `first` on: every date the sweep worked out that a changed day can move is worked
    out again at the next sweep — steps' yellow moments (those due after it), the rules' dates after it."""
    open_due = sa.select(UserTask.id).where(UserTask.state == "open", UserTask.due_at >= local_midnight(first))
    db.session.execute(sa.update(HallTask).where(HallTask.is_open, HallTask.light == "green",
                                                 HallTask.task_id.in_(open_due))
                       .values(watch_from=LOOK_NOW_AT).execution_options(synchronize_session=False))
    for table in (HallTask, HallCase):
        db.session.execute(sa.update(table).where(table.is_open, table.look_on >= first)
                           .values(look_on=LOOK_NOW).execution_options(synchronize_session=False))


def rescheduled_steps(step) -> None:
    """A calendar change moved steps' boundary timers (the runtime's `calendar.recomputed` step): each open step's
    light is judged again against its new due time; one that changes starts green again with its warnings closed,
    and the sweep raises what it now deserves."""
    def due_by_element(snapshot) -> dict:
        due: dict = {}
        for timer in snapshot.timers:
            if timer.attached_to and (timer.attached_to not in due or timer.due_at < due[timer.attached_to]):
                due[timer.attached_to] = timer.due_at
        return due

    was, now_due = due_by_element(step.before), due_by_element(step.after)
    moved = {element: due for element, due in now_due.items() if was.get(element) not in (None, due)}
    ids = [t.id for t in step.after.user_tasks if t.element_id in moved]
    if not ids:
        return
    s, cal = settings(), calendar.workday_calendar()
    rows = db.session.execute(sa.select(HallTask, UserTask.created_at, UserTask.element_id)
                              .join(UserTask, UserTask.id == HallTask.task_id).where(HallTask.task_id.in_(ids))).all()
    for hall_task, created, element in rows:
        due = moved[element]
        hall_task.watch_from = watch_from(created, due, cal, s)
        if hall_task.light is not None and step_light(step.at, created, due, cal, s) != hall_task.light:
            hall_task.light = "green"
            db.session.execute(sa.update(SupervisionWarning).where(
                SupervisionWarning.task_id == hall_task.task_id, SupervisionWarning.state == "open",
                SupervisionWarning.kind.in_(("step_yellow", "step_red")))
                .values(state="closed", closed_at=step.at, note="节假日安排调整，环节到期时间已重新计算")
                .execution_options(synchronize_session=False))


def _audit_raised(ctx: _Context) -> None:
    if ctx.raised:
        db.session.flush()
        audit.record_many([audit.entry("supervision.warning", actor=None, instance_id=w.instance_id,
                                       task_id=w.task_id, details={**warning_details(w),
                                                                   "escalated": w.level == "red"})
                           for w in ctx.raised])


# every step runs these: built once (building a statement costs SQLAlchemy more than running it)
_END_STEPS = (sa.update(HallTask).where(HallTask.task_id.in_(sa.bindparam("ids", expanding=True)), HallTask.is_open)
              .values(is_open=False, look_on=None).returning(HallTask.task_id, HallTask.light, HallTask.role))
_CLOSE_STEP_WARNINGS = (
    sa.update(SupervisionWarning).where(SupervisionWarning.instance_id == sa.bindparam("case_id"),
                                        SupervisionWarning.task_id.in_(sa.bindparam("ids", expanding=True)),
                                        SupervisionWarning.state == "open", SupervisionWarning.kind.in_(STEP_KINDS))
    .values(state="closed", closed_at=sa.bindparam("at"), note="环节已办理"))


def steps_ended(step) -> None:
    """The tasks a step completed or cancelled leave the sweep's open-step indexes, and their step warnings
    close at once (环节已办理), in the step's transaction."""
    ended = {t.id for t in step.before.user_tasks} - {t.id for t in step.after.user_tasks}
    if not ended:
        return
    conn = db.session.connection()
    lit = conn.execute(_END_STEPS, {"ids": sorted(ended)}).all()
    # only these can have an open step warning: a light past green (the light changes with the warning, in one
    # transaction), a special procedure's or a delivery's step (their rules warn without a light)
    watched = [task_id for task_id, light, role in lit if light in LEVELS or role in WARNED_ROLES]
    if watched:
        conn.execute(_CLOSE_STEP_WARNINGS, {"case_id": step.case_id, "ids": watched, "at": step.at})


_tidy_after = [0]  # per process: the id the last sweep's slice of open warnings ended at


def _tidy(ctx: _Context) -> None:
    """Close warnings whose case is over, and step warnings whose step is done — a safety net, as cases and
    steps close theirs when they end: a slice of the open warnings per sweep, round and round."""
    w = SupervisionWarning
    ids = list(db.session.scalars(sa.select(w.id).where(w.state == "open", w.id > _tidy_after[0])
                                  .order_by(w.id).limit(TIDY_SLICE)))
    _tidy_after[0] = ids[-1] if len(ids) == TIDY_SLICE else 0
    if not ids:
        return
    over = sa.select(HallCase.instance_id).where(HallCase.instance_id == w.instance_id, HallCase.is_open.is_(False))
    ctx.close(w.id.in_(ids) & w.kind.in_(CLOSE_WITH_CASE) & over.exists(), "办件已办结")
    done = sa.select(UserTask.id).where(UserTask.id == w.task_id, UserTask.state != "open")
    ctx.close(w.id.in_(ids) & w.kind.in_(STEP_KINDS) & done.exists(), "环节已办理")


def _case_lights(ctx: _Context, only: list[str] | None = None) -> None:
    """`only`: these cases, whatever their light (their due dates moved: a calendar change); else those whose
    light can change today (`look_on`). Each case looked at gets the next date its light can change."""
    hc = HallCase
    query = sa.select(hc.instance_id, hc.light, hc.due_date, hc.promised_days, hc.matter_code, hc.department_code,
                      hc.business_key).where(hc.is_open, hc.paused_since.is_(None))
    if only is not None:
        rows = db.session.execute(query.where(hc.instance_id.in_(only), hc.light.is_not(None),
                                              hc.due_date.is_not(None))).all()
    else:
        rows = _paged(ctx, query.where(hc.look_on <= ctx.today), hc.look_on)
    for instance_id, old, due, promised, matter, department, business_key in rows:
        ctx.checkpoint()
        # guarded: the case moved on meanwhile (a step wrote it), or another process got here first
        guard = sa.update(hc).where(hc.instance_id == instance_id, hc.is_open, hc.paused_since.is_(None),
                                    hc.light.is_(None) if old is None else hc.light == old,
                                    hc.due_date.is_(None) if due is None else hc.due_date == due) \
            .execution_options(synchronize_session=False)
        if old is None or due is None:  # no clock running: nothing to look at until one is (a write sets look_on)
            db.session.execute(guard.values(look_on=None))
            ctx.wrote()
            continue
        new = case_light(ctx.today, due, promised or 0, ctx.cal, ctx.settings)
        look_on = case_look_on(new, due, promised or 0, ctx.cal, ctx.settings)
        if new == old:
            db.session.execute(guard.values(look_on=look_on))
            ctx.wrote()
            continue
        if db.session.execute(guard.values(light=new, look_on=look_on)).rowcount != 1:
            continue
        ctx.wrote()
        ctx.counts["case_lights"] += 1
        ctx.close((SupervisionWarning.instance_id == instance_id)
                  & SupervisionWarning.kind.in_([f"case_{level}" for level in LEVELS if level != new]),
                  "已升级为红灯" if new == "red" else "灯色已恢复")
        if new in LEVELS:
            left = ctx.cal.working_days_between(ctx.today, due)
            ctx.raise_warning(instance_id=instance_id, kind=f"case_{new}", level=new, department=department,
                              message=case_message(new, ctx.matter_name(matter), business_key, instance_id, due,
                                                   left))


def _step_lights(ctx: _Context) -> None:
    """Open steps whose light can change now (`watch_from`: turning yellow, then red); each looked at gets the
    moment of its next change."""
    t, ht, hc, pi = UserTask, HallTask, HallCase, ProcessInstance
    query = sa.select(t.id, ht.light, t.name, t.created_at, t.due_at, t.instance_id, hc.matter_code,
                      pi.department_code, pi.business_key, hc.due_date) \
        .select_from(ht).join(t, t.id == ht.task_id).join(pi, pi.id == t.instance_id) \
        .outerjoin(hc, hc.instance_id == t.instance_id).where(ht.is_open, ht.watch_from <= ctx.at, t.state == "open")
    for light in ("yellow", "green"):  # each light a range of the index (light, watch_from)
        _step_lights_of(ctx, _paged(ctx, query.where(ht.light == light), ht.watch_from))


def _step_lights_of(ctx: _Context, rows) -> None:
    ht = HallTask
    for task_id, old, name, created, due_at, instance_id, matter, department, business_key, case_due in rows:
        ctx.checkpoint()
        if due_at is None:  # its deadline went (a migration): no light to look at
            new, watch = None, None
        else:
            new = step_light(ctx.at, created, due_at, ctx.cal, ctx.settings)
            watch = {"green": watch_from(created, due_at, ctx.cal, ctx.settings), "yellow": due_at}.get(new)
        guard = sa.update(ht).where(ht.task_id == task_id, ht.light == old).execution_options(
            synchronize_session=False)
        if new == old:
            db.session.execute(guard.values(watch_from=watch))
            ctx.wrote()
            continue
        if db.session.execute(guard.values(light=new, watch_from=watch)).rowcount != 1:
            continue
        ctx.wrote()
        ctx.counts["step_lights"] += 1
        if new not in LEVELS:
            continue
        if new == "red":
            ctx.close((SupervisionWarning.task_id == task_id) & (SupervisionWarning.kind == "step_yellow"),
                      "已升级为红灯")
        ctx.raise_warning(instance_id=instance_id, task_id=task_id, kind=f"step_{new}", level=new,
                          department=department,
                          message=step_message(new, ctx.matter_name(matter), business_key, instance_id, name,
                                               due_at, case_due))


def _late_first_reviews(ctx: _Context) -> None:
    """Art. 43: a reported case's first review still open 20 working days (plus pauses) after receipt."""
    ht, hc, w = HallTask, HallCase, SupervisionWarning
    flagged = sa.select(w.id).where(w.instance_id == hc.instance_id, w.kind == "late_first_review", w.state == "open")
    rows = _paged(ctx, sa.select(
        hc.instance_id, hc.is_open, sa.func.coalesce(hc.accepted_on, hc.received_on), hc.paused_days, hc.matter_code,
        hc.department_code, hc.business_key, hc.due_date, ht.task_id, flagged.exists())
        .select_from(ht).join(hc, hc.instance_id == ht.instance_id)
        .where(ht.is_open, ht.role == vocabulary.Step.FIRST_REVIEW, ht.look_on <= ctx.today), ht.look_on,
        key=lambda row: row[8])
    for instance_id, case_open, received, paused, matter, department, business_key, due, task_id, warned in rows:
        ctx.checkpoint()
        if not case_open:
            ctx.look(task_id, None)
            continue
        if received is None:
            ctx.look(task_id, ctx.tomorrow)
            continue
        deadline = ctx.cal.add_working_days(received, FIRST_REVIEW_DAYS + (paused or 0)).date
        if ctx.today <= deadline:
            ctx.look(task_id, deadline + timedelta(days=1))
            continue
        ctx.look(task_id, ctx.tomorrow)  # past it: again tomorrow, should the warning be closed by hand
        if not warned:
            ctx.raise_warning(instance_id=instance_id, task_id=task_id, kind="late_first_review", level="red",
                              department=department,
                              message=late_review_message(ctx.matter_name(matter), business_key, instance_id,
                                                          received, deadline, due))


# -- hall-rules: special procedures' bounds (Art. 45), delivery (Art. 44), the supplement notice (Art. 32) ------
def _flagged(kind: str, level: str | None = None):
    w, ht = SupervisionWarning, HallTask
    query = sa.select(w.id).where(w.task_id == ht.task_id, w.kind == kind, w.state == "open")
    return query.where(w.level == level) if level else query


def _spent_pauses(ctx: _Context) -> None:
    """Art. 45: a special procedure stops the clock only for its bound (and a second notice's extension); past
    it the clock runs again, the procedure going on (clock.spend_pause, under the case's lock)."""
    hc = HallCase
    rows = _paged(ctx, sa.select(hc.instance_id, hc.paused_since, hc.pause_limit).where(
        hc.is_open, hc.paused_since.is_not(None), hc.look_on <= ctx.today), hc.look_on)
    for instance_id, since, limit in rows:
        ctx.checkpoint()
        # spent once more than `limit` working days have passed since the pause began
        spent_on = None if limit is None else ctx.cal.add_working_days(local_date(since), limit + 1).date
        if spent_on is None or ctx.today < spent_on:
            db.session.execute(sa.update(hc).where(hc.instance_id == instance_id, hc.paused_since == since,
                                                   hc.pause_limit.is_(limit) if limit is None
                                                   else hc.pause_limit == limit)
                               .values(look_on=spent_on).execution_options(synchronize_session=False))
            ctx.wrote()
            continue
        case = cases.lock(instance_id)
        if case is not None and case_clock.spend_pause(case, ctx.at):  # its light is looked at again (look_on)
            ctx.counts["pauses_spent"] += 1
            ctx.wrote()


def _special_bounds(ctx: _Context) -> None:
    """A special procedure open for its bound (`hall.max_days`, else the matter record's) in working days:
    yellow; beyond it: red."""
    from ...definitions import service as definitions

    t, ht, hc, pi = UserTask, HallTask, HallCase, ProcessInstance
    rows = _paged(ctx, sa.select(
        t.id, t.element_id, t.name, t.created_at, pi.id, pi.definition_id, hc.matter_code, hc.department_code,
        hc.business_key, hc.pause_task_id, hc.pause_limit, hc.is_open, _flagged("special_overdue", "red").exists(),
        _flagged("special_overdue", "yellow").exists())
        .select_from(ht).join(t, t.id == ht.task_id).join(pi, pi.id == t.instance_id)
        .join(hc, hc.instance_id == ht.instance_id)
        .where(ht.is_open, ht.role == vocabulary.Step.SPECIAL_PROCEDURE, ht.look_on <= ctx.today), ht.look_on)
    procedures: dict[str | None, list] = {}
    # many open special procedures share a diagram and a day: what is the same for many is worked out once
    bounds: dict[tuple, int | None] = {}
    used_since: dict[date, int] = {}
    for task_id, element_id, name, created, instance_id, definition_id, matter, department, business_key, \
            pause_task, pause_limit, case_open, red, yellow in rows:
        ctx.checkpoint()
        if not case_open:
            ctx.look(task_id, None)
            continue
        if red:
            ctx.look(task_id, ctx.tomorrow)  # again tomorrow, should the warning be closed by hand
            continue
        if matter not in procedures:  # the matter record's bounds, for a diagram that declares none itself
            procedures[matter] = db.session.scalar(
                sa.select(ctx._matter.special_procedures).where(ctx._matter.code == matter)) or [] if matter else []
        if pause_task == task_id and pause_limit is not None:
            bound = pause_limit  # with a second notice's days
        else:
            key = (definition_id, element_id, name, matter)
            if key not in bounds:
                properties = definitions.compiled_by_id(definition_id).element_properties(element_id)
                bounds[key] = vocabulary.special_bound(properties, name, procedures[matter])
            bound = bounds[key]
        if bound is None:
            ctx.look(task_id, None)
            continue
        since = local_date(created)
        if since not in used_since:
            used_since[since] = ctx.cal.working_days_between(since, ctx.today)
        used = used_since[since]
        level = "red" if used > bound else "yellow" if used >= bound else None
        # yellow on the day its working days reach the bound, red the working day after
        ctx.look(task_id, ctx.tomorrow if level == "red" else
                 ctx.cal.add_working_days(since, bound + (level == "yellow")).date)
        if level is None or (level == "yellow" and yellow):
            continue
        if level == "red":
            ctx.close((SupervisionWarning.task_id == task_id) & (SupervisionWarning.kind == "special_overdue"),
                      "已升级为红灯")
        state = "已超过" if level == "red" else "已达到"
        ctx.raise_warning(instance_id=instance_id, task_id=task_id, kind="special_overdue", level=level,
                          department=department,
                          message=f"事项「{ctx.matter_name(matter)}」{_case_name(business_key, instance_id)}的特别程序"
                                  f"「{name}」已进行 {used} 个工作日，{state}其时限 {bound} 个工作日"
                                  f"（《行政许可法》第四十五条）")


def _late_deliveries(ctx: _Context) -> None:
    """Art. 44: a decision not delivered within 10 working days."""
    ht, hc = HallTask, HallCase
    rows = (row for role in (vocabulary.Step.DELIVER, vocabulary.Step.INFORM) for row in _paged(
        ctx, sa.select(ht.task_id, hc, _flagged("late_delivery").exists()).select_from(ht)
        .join(hc, hc.instance_id == ht.instance_id)
        .where(ht.is_open, ht.role == role, ht.look_on <= ctx.today), ht.look_on))
    for task_id, case, warned in rows:
        ctx.checkpoint()
        if not case.is_open or case.delivered_at is not None:
            ctx.look(task_id, None)
        elif case.decided_at is None or case.delivery_due is None:
            ctx.look(task_id, ctx.tomorrow)  # not decided yet
        elif ctx.today <= case.delivery_due:
            ctx.look(task_id, case.delivery_due + timedelta(days=1))
        else:
            ctx.look(task_id, ctx.tomorrow)
            if not warned:
                deadline = case_clock.delivery_deadline(case, ctx.cal)
                ctx.raise_warning(instance_id=case.instance_id, task_id=task_id, kind="late_delivery", level="red",
                                  department=case.department_code,
                                  message=case_clock.delivery_message(case, deadline, delivered=False))


def _late_supplement_notices(ctx: _Context) -> None:
    """Art. 32: a supplement notice still not given 5 working days after receipt: accepted on receipt."""
    t, ht, hc = UserTask, HallTask, HallCase
    rows = _paged(ctx, sa.select(
        t.id, t.element_id, hc.instance_id, hc.is_open, hc.received_on, hc.accepted_on, hc.accepted_on_receipt)
        .select_from(ht).join(t, t.id == ht.task_id).join(hc, hc.instance_id == ht.instance_id)
        .where(ht.is_open, ht.role == vocabulary.Step.SUPPLEMENT_NOTICE, ht.look_on <= ctx.today), ht.look_on)
    for task_id, element_id, instance_id, case_open, received, accepted, on_receipt in rows:
        ctx.checkpoint()
        if not case_open or accepted is not None or on_receipt:
            ctx.look(task_id, None)
            continue
        if received is None:
            ctx.look(task_id, ctx.tomorrow)
            continue
        deadline = case_clock.supplement_notice_due(received, ctx.cal)
        if ctx.today <= deadline:
            ctx.look(task_id, deadline + timedelta(days=1))
            continue
        ctx.look(task_id, None)
        case = cases.lock(instance_id)
        if case is None or case.accepted_on is not None \
                or ctx.today <= case_clock.supplement_notice_deadline(case, ctx.cal):
            continue
        case_clock.accept_on_receipt(case, task_id, element_id, ctx.at)
        ctx.counts["raised"] += 1
        ctx.wrote()


# -- hall-rules: 延期 (Art. 42) -----------------------------------------------------------------------------------
def extend(instance: ProcessInstance, actor: str, reason: str) -> HallCase:
    """Extend a case's limit once, with the head's approval: +10 working days, a joint case +15 (Art. 42).

    The hall's own row, under the case's lock (the order every writer keeps): a step on the same case waits for
    it (or it for the step) and both succeed; the runtime's row and its version are not touched.
    """
    case = cases.lock(instance.id) if runtime_lock(instance.id) is not None else None
    if case is None or case.due_date is None:
        raise Conflict("该办件不计时，不能延期", {"instance_id": instance.id})
    if not case.is_open or case.decided_at is not None:
        raise Conflict("办件已作出决定或已办结，不能延期", {"instance_id": instance.id, "outcome": case.outcome})
    if case_clock.district_clock_ended(case):
        raise Conflict("办件已上报上级机关，区级计时已结束，不能延期", {"instance_id": instance.id})
    matter = case_clock.matter_for(instance.definition_id, instance.process_key)
    if not case.promised_days or (matter is not None and matter.kind == "immediate"):
        raise Conflict("即办件当场办结，不能延期（《行政许可法》第四十二条的延期适用于不能在期限内作出决定的申请）",
                       {"instance_id": instance.id, "promised_days": case.promised_days})
    if case.extended_days:
        raise Conflict("办件已延期一次，不能再次延期（《行政许可法》第四十二条）",
                       {"instance_id": instance.id, "extended_days": case.extended_days,
                        "extended_by": case.extended_by})
    today = local_date(now())
    if today > case.due_date:
        raise Conflict("延期须在办理期限届满前决定，该办件已超期",
                       {"instance_id": instance.id, "due_date": case.due_date.isoformat()})
    days = vocabulary.JOINT_EXTENSION_DAYS if matter is not None and matter.kind == "joint" \
        else vocabulary.EXTENSION_DAYS
    at = now()
    old_due = case.due_date
    case.extended_days = days
    case.extended_at, case.extended_by, case.extension_reason = at, actor, reason
    case.due_date = case_clock.case_due_date(case)
    db.session.add(ClockEvent(instance_id=instance.id, at=at, kind="extend", working_days=days,
                              due_date=case.due_date,
                              reason=f"延期 {days} 个工作日（经负责人批准，《行政许可法》第四十二条）：{reason}"[:200]))
    course.record(instance.id, course.Event("extended", at, actor, None, None, None, {
        "days": days, "reason": reason, "due_date_before": old_due.isoformat(), "due_date": case.due_date.isoformat()}))
    from ..documents import service as documents

    notice = documents.issue_act(instance, "extension", {
        "reason": reason, "days": days, "due_date_before": old_due.isoformat(), "due_date": case.due_date.isoformat(),
        "approved_by": _name_of(actor)}, at, actor)
    audit.record("instance.extended", actor=actor, instance_id=instance.id,
                 details={"days": days, "reason": reason, "due_date_before": old_due.isoformat(),
                          "due_date": case.due_date.isoformat(), "notice": notice.number})
    return case


SPECIAL_EXTENSION_MAX_DAYS = 30  # a second notice extends a special procedure by at most this many working days


def extend_special(instance: ProcessInstance, actor: str, days: int, reason: str) -> HallCase:
    """A second notice (Art. 45): a special procedure that needs longer than its bound is extended once, by the
    head's approval, before the bound is spent; the applicant is told the reason and the new bound."""
    case = cases.lock(instance.id) if runtime_lock(instance.id) is not None else None
    if case is None or not case.is_open or case.paused_since is None or case.pause_task_id is None:
        raise Conflict("办件不在特别程序中（或特别程序的时限已届满、计时已恢复），不能延长特别程序",
                       {"instance_id": instance.id})
    if case.pause_limit is None:
        raise Conflict("该特别程序未设时限，无需延长", {"instance_id": instance.id, "task_id": case.pause_task_id})
    if case.pause_extended_days:
        raise Conflict("该特别程序已延长一次，不能再次延长", {"instance_id": instance.id,
                                                          "extended_days": case.pause_extended_days})
    cal = calendar.workday_calendar()
    at = now()
    used = cal.working_days_between(local_date(case.paused_since), local_date(at))
    if used > case.pause_limit:
        raise Conflict(f"特别程序已超过其时限 {case.pause_limit} 个工作日，须在届满前决定延长",
                       {"instance_id": instance.id, "max_days": case.pause_limit, "working_days": used})
    task = db.session.get(UserTask, case.pause_task_id)
    before = case.pause_limit
    case.pause_limit, case.pause_extended_days = before + days, days
    db.session.add(ClockEvent(instance_id=instance.id, at=at, kind="extend", working_days=days,
                              due_date=case.due_date, element_id=task.element_id if task else None,
                              reason=f"特别程序「{task.name if task else ''}」延长 {days} 个工作日（共 {case.pause_limit} 个"
                                     f"工作日不计入办理期限，经负责人批准，第二次告知）：{reason}"[:200]))
    course.record(instance.id, course.Event("special_extended", at, actor, None, case.pause_task_id,
                                            task.element_id if task else None, {
                                                "days": days, "reason": reason, "max_days_before": before,
                                                "max_days": case.pause_limit}))
    from ..documents import service as documents

    notice = documents.issue_act(instance, "special_procedure", {
        "procedure": task.name if task else "特别程序", "max_days": case.pause_limit, "second": True,
        "title": "特别程序告知书（第二次）",
        "days": days, "reason": reason, "approved_by": _name_of(actor)}, at, actor,
        task.element_id if task else None, case.pause_task_id)
    audit.record("instance.special_extended", actor=actor, instance_id=instance.id, task_id=case.pause_task_id,
                 details={"days": days, "reason": reason, "max_days_before": before, "max_days": case.pause_limit,
                          "notice": notice.number})
    return case


def _name_of(username: str) -> str:
    from ...people.models import User

    return db.session.scalar(sa.select(User.name).where(User.username == username)) or username


def runtime_lock(instance_id: str):
    from ...instances import runtime

    return runtime.lock(instance_id)


# -- end hall-rules ----------------------------------------------------------------------------------------------


# -- the API's queries -------------------------------------------------------------------------------------------
def search(*, state: str | None = "open", level: str | None = None, kind: str | None = None,
           department: str | None = None, instance: str | None = None, post: str | None = None,
           scope=None, limit: int = 50, offset: int = 0) -> tuple[list[dict], int]:
    """`scope`: the condition of the warnings the caller may see (people.access.warning_scope), None for all; the
    total counts up to COUNT_CAP + 1."""
    w = SupervisionWarning
    query = sa.select(w) if scope is None else sa.select(w).where(scope)
    for column, value in ((w.state, state), (w.level, level), (w.kind, kind), (w.department_code, department),
                          (w.instance_id, instance), (w.post, post)):
        if value:
            query = query.where(column == value)
    items, total = paged(query, w.raised_at.desc(), w.id.desc(), limit=limit, offset=offset, count_cap=COUNT_CAP)
    found = {}
    if items:
        found = {row.id: row for row in db.session.execute(
            sa.select(HallCase.instance_id.label("id"), HallCase.business_key, HallCase.matter_code,
                      HallCase.due_date, HallCase.light, HallCase.case_number)
            .where(HallCase.instance_id.in_({i.instance_id for i in items})))}
    return [warning_view(item, found.get(item.instance_id)) for item in items], total


def warning_view(warning: SupervisionWarning, case=None) -> dict:
    return {**{c.key: getattr(warning, c.key) for c in SupervisionWarning.__table__.columns},
            "kind_name": KIND_NAMES.get(warning.kind, warning.kind),
            "business_key": case.business_key if case else None, "matter_code": case.matter_code if case else None,
            "case_number": case.case_number if case else None,
            "due_date": case.due_date if case else None, "case_light": case.light if case else None}


def get_or_404(warning_id: int) -> SupervisionWarning:
    warning = db.session.get(SupervisionWarning, warning_id)
    if warning is None:
        raise NotFound(f"预警 {warning_id} 不存在", {"warning_id": warning_id})
    return warning


def close(warning: SupervisionWarning, actor: str, note: str) -> dict:
    """A supervisor closes a warning with a note (handled, explained...)."""
    if warning.state != "open":
        raise Conflict(f"预警已于 {as_utc(warning.closed_at).astimezone(SHANGHAI):%Y-%m-%d %H:%M} 关闭",
                       {"warning_id": warning.id, "state": warning.state, "closed_by": warning.closed_by})
    at = now()
    result = db.session.execute(sa.update(SupervisionWarning).where(
        SupervisionWarning.id == warning.id, SupervisionWarning.state == "open")
        .values(state="closed", closed_at=at, closed_by=actor, note=note))
    if result.rowcount != 1:
        db.session.rollback()
        raise Conflict("预警已被关闭，请刷新后重试", {"warning_id": warning.id})
    audit.record("supervision.warning_closed", actor=actor, instance_id=warning.instance_id, task_id=warning.task_id,
                 details={"warning_id": warning.id, "kind": warning.kind, "level": warning.level, "note": note})
    db.session.commit()
    db.session.refresh(warning)
    return warning_view(warning)


def _higher_view(case: HallCase) -> dict | None:
    """上报件: the higher authority's time, tracked apart from the district's (Art. 43)."""
    if case.forwarded_at is None:
        return None
    cal = calendar.workday_calendar()
    until = case.replied_at or now()
    return {"since": case.forwarded_at, "replied_at": case.replied_at,
            "working_days": cal.working_days_between(local_date(case.forwarded_at), local_date(until))}


def _delivery_view(case: HallCase) -> dict | None:
    """送达 (Art. 44): its own clock, from the decision."""
    if case.decided_at is None or case.delivery_due is None:
        return None
    today = local_date(now())
    if case.delivered_at is not None:
        light = None
    elif today > case.delivery_due:
        light = "red"
    else:
        light = "yellow" if calendar.workday_calendar().working_days_between(today, case.delivery_due) <= 1 \
            else "green"
    return {"due_date": case.delivery_due, "delivered_at": case.delivered_at, "light": light,
            "on_time": None if case.delivered_at is None else local_date(case.delivered_at) <= case.delivery_due}


def clock_view(instance: ProcessInstance) -> dict:
    """The case clocks: the decision's (received, accepted, limit, pauses, due date, light, decided) and the
    delivery's, and their history."""
    events = list(db.session.scalars(sa.select(ClockEvent).where(ClockEvent.instance_id == instance.id)
                                     .order_by(ClockEvent.id)))
    case = cases.get(instance.id)
    base = {"instance_id": instance.id, "business_key": instance.business_key, "events": events,
            "working_days_left": None, "provisional": False, "fallback_years": [], "note": None}
    if case is None or case.matter_code is None:
        return {**base, "state": "none", "department_code": instance.department_code, "green_channel": False,
                "paused_days": 0, "supplement_count": 0, "extended_days": 0, "accepted_on_receipt": False}
    if case.decided_at is not None or not case.is_open or case_clock.district_clock_ended(case):
        state = "stopped"
    elif case.paused_since is not None:
        state = "paused"
    else:
        state = "running"
    view = {**base, "matter_code": case.matter_code, "matter_version": case.matter_version,
            "case_number": case.case_number,
            "department_code": case.department_code, "window_no": case.window_no,
            "green_channel": bool(case.green_channel), "received_on": case.received_on,
            "accepted_on": case.accepted_on, "promised_days": case.promised_days,
            "paused_days": case.paused_days or 0, "paused_since": case.paused_since, "due_date": case.due_date,
            "light": case.light, "state": state, "outcome": case.outcome,
            "working_days_used": case.working_days_used, "on_time": case.on_time,
            "supplement_count": case.supplement_count or 0,
            "extended_days": case.extended_days or 0, "extended_by": case.extended_by,
            "extended_at": case.extended_at, "extension_reason": case.extension_reason,
            "accepted_on_receipt": bool(case.accepted_on_receipt), "decided_at": case.decided_at,
            "decision": case.decision, "deciding_authority": case.deciding_authority,
            "forwarded_at": case.forwarded_at, "forward_clock": case.forward_clock,
            "higher": _higher_view(case), "delivery": _delivery_view(case), "closed_at": case.closed_at,
            "special": {"task_id": case.pause_task_id, "max_days": case.pause_limit,
                        "extended_days": case.pause_extended_days or 0,
                        "running": case.paused_since is not None} if case.pause_task_id else None}
    if case.received_on is not None and case.due_date is not None:
        cal = calendar.workday_calendar()
        years = cal.fallback_years_between(case.received_on, case.due_date)
        view.update(provisional=bool(years), fallback_years=list(years), note=calendar.fallback_note(years))
        if state != "stopped":
            today = local_date(now())
            view["working_days_left"] = cal.working_days_between(today, case.due_date)
            if today > case.due_date:
                view["working_days_left"] = -cal.working_days_between(case.due_date, today)
    return view
