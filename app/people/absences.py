"""Absences and where tasks go meanwhile (AB岗), and who may own a case (首问负责制).

Routing: a task row keeps `home_post` (its lane's post) and `post` (where it is routed now). While every
active holder of a post is away and its backup post has someone present, the post's unclaimed open tasks and its
new tasks go to the backup post. A task claimed by a clerk who is away is released to its post (or the backup)
and remembers the clerk (`task_return`); when they are back it is theirs again, unless someone claimed it meanwhile.
`apply_absences()` brings the rows in line with today's absences: on every absence change and periodically.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import sqlalchemy as sa

from ..audit import service as audit
from ..caches import app_cache, bump_generation, shared_generation
from ..clock import SHANGHAI, as_utc, now
from ..errors import Conflict, Invalid, NotFound
from ..extensions import db
from ..tasks.models import UserTask
from .models import Absence, Department, Post, TaskReturn, User, Window, user_post

if TYPE_CHECKING:
    from .auth import Principal


# -- where tasks go today --------------------------------------------------------------------------------------
def local_day(at: dt.datetime | None = None) -> dt.date:
    """The date in Asia/Shanghai: absences are entered in the hall's dates."""
    return as_utc(at or now()).astimezone(SHANGHAI).date()


def _in_effect(day: dt.date):
    return (Absence.start_date <= day) & (Absence.end_date >= day) & Absence.ended_at.is_(None)


@dataclass(frozen=True)
class Routing:
    """Who is away on a day, and which posts send their tasks to their backup post (home post → backup)."""

    day: dt.date
    absent: frozenset[str] = frozenset()
    diverted: dict[str, str] = field(default_factory=dict)

    def route(self, post: str | None) -> str | None:
        return self.diverted.get(post, post) if post else post

    def is_absent(self, username: str | None) -> bool:
        return username in self.absent


def routing(at: dt.datetime | None = None) -> Routing:
    """Today's routing: one indexed query when nobody is away, a few small ones when someone is."""
    day = local_day(at)
    absent = frozenset(db.session.scalars(
        db.select(User.username).join(Absence, Absence.user_id == User.id).where(_in_effect(day))))
    if not absent:
        return Routing(day)
    away_posts = (db.select(user_post.c.post_name).join(User, User.id == user_post.c.user_id)
                  .where(User.username.in_(absent)))
    holders = defaultdict(set)
    for post_name, username in db.session.execute(
            db.select(user_post.c.post_name, User.username).join(User, User.id == user_post.c.user_id)
            .where(User.active.is_(True), user_post.c.post_name.in_(away_posts))):
        holders[post_name].add(username)
    uncovered = [post for post, names in holders.items() if names <= absent]
    backups = dict(db.session.execute(db.select(Post.name, Post.backup_name).where(
        Post.name.in_(uncovered), Post.backup_name.is_not(None))).all()) if uncovered else {}
    staffed = set(db.session.scalars(
        db.select(user_post.c.post_name).join(User, User.id == user_post.c.user_id)
        .where(User.active.is_(True), User.username.not_in(absent), user_post.c.post_name.in_(set(backups.values())))
    )) if backups else set()
    return Routing(day, absent, {home: backup for home, backup in backups.items() if backup in staffed})


# Today's routing, remembered until absences, people or posts change on any server process: a change bumps the
# shared generation `routing` in its own transaction (forget_routing), every lookup compares (one primary-key
# read per request), and the absence job (every minute) moves any task that went the old way meanwhile.
ROUTING_GENERATION = "routing"


def _routing_cache() -> dict[dt.date, tuple[int, Routing]]:
    return app_cache("people.routing", dict)  # per app (app.extensions): a fresh app starts clean


def cached_routing(at: dt.datetime | None = None) -> Routing:
    day = local_day(at)
    cache = _routing_cache()
    generation = shared_generation(ROUTING_GENERATION)
    cached = cache.get(day)
    if cached is not None and cached[0] == generation:
        return cached[1]
    result = routing(at)
    cache.clear()
    cache[day] = (generation, result)
    return result


@dataclass(frozen=True)
class PostInfo:
    name: str
    kind: str
    department_code: str | None
    backup_name: str | None


def post_info(name: str | None) -> PostInfo | None:
    """A post as the catalog has it, remembered under the routing generation (a change of posts bumps it) so a
    step does not read the post table; a post the catalog does not know yet is read (and not remembered)."""
    if not name:
        return None
    cache = app_cache("people.posts", dict)
    generation = shared_generation(ROUTING_GENERATION)
    if cache.get("generation") != generation:
        cache["posts"] = {row.name: PostInfo(row.name, row.kind, row.department_code, row.backup_name)
                          for row in db.session.execute(sa.select(Post.name, Post.kind, Post.department_code,
                                                                  Post.backup_name))}
        cache["generation"] = generation
    found = cache["posts"].get(name)
    if found is None:
        row = db.session.execute(sa.select(Post.name, Post.kind, Post.department_code, Post.backup_name)
                                 .where(Post.name == name)).first()
        found = PostInfo(row.name, row.kind, row.department_code, row.backup_name) if row is not None else None
    return found


def window_department(number: int) -> tuple[bool, str | None]:
    """(whether the window exists, its department: None for the comprehensive window), remembered like the posts
    (a change of the hall's windows bumps the routing generation); a window not remembered yet is read."""
    cache = app_cache("people.windows", dict)
    generation = shared_generation(ROUTING_GENERATION)
    if cache.get("generation") != generation:
        cache["windows"] = dict(db.session.execute(sa.select(Window.no, Window.department_code)).all())
        cache["generation"] = generation
    if number in cache["windows"]:
        return True, cache["windows"][number]
    department = db.session.execute(sa.select(Window.department_code).where(Window.no == number)).first()
    return (False, None) if department is None else (True, department[0])


@dataclass(frozen=True)
class DepartmentInfo:
    code: str
    name: str
    short: str
    letters: str | None
    legal_name: str | None
    superior: str | None
    nature: str


def department_info(code: str | None) -> DepartmentInfo | None:
    """A department as the catalog has it, remembered like the posts (hall.yaml changes bump the generation), so a
    step's notices do not read the department table."""
    if not code:
        return None
    cache = app_cache("people.departments", dict)
    generation = shared_generation(ROUTING_GENERATION)
    if cache.get("generation") != generation:
        cache["departments"] = {row.code: DepartmentInfo(*row) for row in db.session.execute(sa.select(
            Department.code, Department.name, Department.short, Department.letters, Department.legal_name,
            Department.superior, Department.nature))}
        cache["generation"] = generation
    found = cache["departments"].get(code)
    if found is None:  # not in the catalog yet: read (and not remembered)
        row = db.session.execute(sa.select(Department.code, Department.name, Department.short, Department.letters,
                                           Department.legal_name, Department.superior, Department.nature)
                                 .where(Department.code == code)).first()
        found = DepartmentInfo(*row) if row is not None else None
    return found


def forget_routing() -> None:
    """Absences, people or posts changed (in the caller's transaction): every process routes anew."""
    bump_generation(ROUTING_GENERATION)
    _routing_cache().clear()


def post_for(user: User, home_post: str | None, backups: dict[str, str | None] | None = None) -> str | None:
    """Where a task of `home_post` sits when `user` works on it: the home post, else its backup; None if neither."""
    if home_post is None:
        return None
    held = set(user.post_names)
    if home_post in held:
        return home_post
    if backups is not None:
        backup = backups.get(home_post)
    else:
        known = post_info(home_post)
        backup = known.backup_name if known is not None else None
    return backup if backup in held else None


def may_own(username: str | None, post_name: str | None) -> bool:
    """首问负责制: completing a task of a window post makes a clerk of that post (or its backup) the case's owner."""
    post = post_info(post_name) if username else None
    if post is None or post.kind not in ("window_a", "window_b"):
        return False
    user = active_user(username)
    return user is not None and post_for(user, post.name) is not None


def owning_post(username: str | None, posts: tuple[str, ...]) -> str | None:
    """The window post, of a task's candidate posts, that makes `username` the case's owner: one they hold
    themselves first (the comprehensive window's clerk accepts there), else one whose backup they hold."""
    user = active_user(username) if username else None
    if user is None:
        return None
    held = set(user.post_names)
    for post in sorted(posts, key=lambda p: p not in held):
        if may_own(username, post):
            return post
    return None


def active_user(username: str) -> User | Principal | None:
    """An active user by name (their posts and window); remembered for the rest of the request (a step may ask
    twice). The caller themselves is the request's principal, read at sign-in and as fresh as the people tables
    (people.auth's shared generation): no query."""
    from flask import has_request_context, request

    if not has_request_context():
        return db.session.scalar(db.select(User).filter_by(username=username, active=True))
    caller = request.environ.get("tongban.user")
    if caller is not None and caller.username == username:
        return caller
    memo = request.environ.setdefault("tongban.users", {})
    if username not in memo:
        memo[username] = db.session.scalar(db.select(User).filter_by(username=username, active=True))
    return memo[username]


def window_of(username: str | None) -> int | None:
    """The window an active user sits at (the statistics count a case by the window that accepted it)."""
    user = active_user(username) if username else None
    return user.window_no if user is not None else None


def keep_for(returns: list[tuple[str, str, str]]) -> None:
    """(task id, case id, username): these open tasks go back to the clerk when they return (in the caller's
    transaction)."""
    table = TaskReturn.__table__
    db.session.execute(table.delete().where(table.c.task_id.in_([task_id for task_id, _, _ in returns])))
    db.session.execute(table.insert(), [{"task_id": task_id, "instance_id": instance_id, "username": username}
                                        for task_id, instance_id, username in returns])


def forget_return(task_id: str) -> None:
    """The task was claimed or moved by someone: it no longer waits for a clerk's return."""
    db.session.execute(TaskReturn.__table__.delete().where(TaskReturn.task_id == task_id))


def _move(row, cause: str, actor: str | None, entries: list, **values) -> bool:
    """Update one open task unless someone changed it meanwhile; audit the move."""
    result = db.session.execute(sa.update(UserTask).where(
        UserTask.id == row.id, UserTask.state == "open", UserTask.post == row.post,
        UserTask.assignee.is_(None) if row.assignee is None else UserTask.assignee == row.assignee).values(**values))
    if result.rowcount != 1:
        return False
    entries.append(audit.entry("task.rerouted", actor=actor, instance_id=row.instance_id, task_id=row.id, details={
        "cause": cause, "from_post": row.post, "to_post": values.get("post", row.post),
        "from_assignee": row.assignee, "to_assignee": values.get("assignee", row.assignee)}))
    return True


def apply_absences(at: dt.datetime | None = None, *, actor: str | None = None, commit: bool = True) -> dict[str, int]:
    """Route open tasks by today's absences (idempotent): release, divert to the backup, return, give back.

    Causes in the audit trail: `absence` (a claim released), `backup` (sent to the backup post), `return`
    (back to its home post), `back` (given back to the clerk who had it, or to the case owner).
    """
    at = at or now()
    today = routing(at)
    counts: Counter[str] = Counter()
    entries: list[dict] = []
    columns = (UserTask.id, UserTask.instance_id, UserTask.post, UserTask.home_post, UserTask.assignee)
    open_ = UserTask.state == "open"
    if today.absent:  # claims of clerks who are away go back to the post (or its backup)
        released = []
        for row in db.session.execute(db.select(*columns).where(open_, UserTask.assignee.in_(today.absent))):
            target = today.route(row.home_post or row.post)
            if _move(row, "absence", actor, entries, post=target, assignee=None, claimed_at=None):
                released.append((row.id, row.instance_id, row.assignee))
                counts["released"] += 1
        if released:
            keep_for(released)
    if today.diverted:  # posts nobody is there to staff: their waiting tasks go to the backup
        for row in db.session.execute(db.select(*columns).where(
                open_, UserTask.assignee.is_(None), UserTask.home_post.in_(list(today.diverted)))):
            target = today.diverted[row.home_post]
            if row.post != target and _move(row, "backup", actor, entries, post=target):
                counts["diverted"] += 1
    backup_posts = db.select(Post.backup_name).where(Post.backup_name.is_not(None))
    for row in db.session.execute(db.select(*columns).where(  # waiting at a backup post, but home is staffed again
            open_, UserTask.assignee.is_(None), UserTask.post.in_(backup_posts), UserTask.post != UserTask.home_post)):
        target = today.route(row.home_post)
        if target != row.post and _move(row, "return", actor, entries, post=target):
            counts["returned"] += 1
    waiting = list(db.session.execute(db.select(*columns, TaskReturn.username)
                                      .join(TaskReturn, TaskReturn.task_id == UserTask.id).where(open_)))
    if waiting:  # tasks kept for clerks who are back
        users = {u.username: u for u in db.session.scalars(
            db.select(User).where(User.username.in_({row.username for row in waiting})))}
        backups = dict(db.session.execute(db.select(Post.name, Post.backup_name)).all())
        for row in waiting:
            if today.is_absent(row.username):
                continue
            user = users.get(row.username)
            post = post_for(user, row.home_post or row.post, backups) if user is not None and user.active else None
            if row.assignee is None and (post is not None or row.home_post is None) and user is not None:
                if _move(row, "back", actor, entries, post=post or row.post, assignee=user.username, claimed_at=at):
                    counts["given_back"] += 1
            forget_return(row.id)  # given back, or claimed by someone else meanwhile, or no longer their post
    audit.record_many(entries)
    if commit:
        db.session.commit()
    return {key: counts[key] for key in ("released", "diverted", "returned", "given_back")}


# -- absences ----------------------------------------------------------------------------------------------------
def get_absence_or_404(absence_id: int) -> Absence:
    absence = db.session.get(Absence, absence_id)
    if absence is None:
        raise NotFound(f"请假登记 {absence_id} 不存在", {"absence_id": absence_id})
    return absence


def absence_view(absence: Absence, day: dt.date | None = None) -> dict:
    day = day or local_day()
    return {"id": absence.id, "username": absence.user.username, "name": absence.user.name,
            "start": absence.start_date, "end": absence.end_date, "reason": absence.reason,
            "created_by": absence.created_by, "created_at": absence.created_at, "ended_at": absence.ended_at,
            "ended_by": absence.ended_by,
            "in_effect": absence.ended_at is None and absence.start_date <= day <= absence.end_date}


def list_absences(username: str | None = None, active_on: dt.date | None = None, limit: int = 50,
                  offset: int = 0, scope=None) -> tuple[list[dict], int]:
    """`scope`: a condition on Absence (people.access.people_scope), None for every clerk's absences."""
    query = db.select(Absence).join(User, User.id == Absence.user_id)
    if scope is not None:
        query = query.where(scope)
    if username:
        query = query.where(User.username == username)
    if active_on:
        query = query.where(_in_effect(active_on))
    total = db.session.scalar(db.select(sa.func.count()).select_from(query.order_by(None).subquery()))
    rows = db.session.scalars(query.order_by(Absence.start_date.desc(), Absence.id.desc()).limit(limit).offset(offset))
    day = local_day()
    return [absence_view(a, day) for a in rows], total


def _date_range(start: dt.date, end: dt.date) -> str:
    return start.isoformat() if start == end else f"{start.isoformat()} 至 {end.isoformat()}"


def create_absence(username: str, start: dt.date, end: dt.date, reason: str, actor: str,
                   check=None) -> tuple[dict, dict]:
    """Mark a clerk away from `start` to `end` (both included); 409 when it overlaps one of theirs.

    `check(user)` raises when the actor may not record this clerk's absence (people.access.check_manage_person).
    """
    if end < start:
        raise Invalid("结束日期不能早于开始日期", {"start": start.isoformat(), "end": end.isoformat()})
    user = db.session.scalar(db.select(User).filter_by(username=username))
    if user is None:
        raise Invalid(f"用户 {username} 不存在", {"username": username})
    if check is not None:
        check(user)
    if db.engine.dialect.name == "postgresql":  # one absence change per clerk at a time (SQLite: BEGIN IMMEDIATE)
        db.session.execute(db.select(User.id).where(User.id == user.id).with_for_update())
    overlap = db.session.scalar(db.select(Absence).where(
        Absence.user_id == user.id, Absence.ended_at.is_(None), Absence.start_date <= end, Absence.end_date >= start)
        .order_by(Absence.start_date).limit(1))
    if overlap is not None:
        raise Conflict(
            f"{user.name}（{username}）已登记 {_date_range(overlap.start_date, overlap.end_date)} 请假（{overlap.reason}），"
            f"与 {_date_range(start, end)} 重叠；请先结束原登记或调整日期",
            {"username": username, "existing": {"id": overlap.id, "start": overlap.start_date.isoformat(),
                                                "end": overlap.end_date.isoformat()}}, code="absence_overlap")
    absence = Absence(user_id=user.id, user=user, start_date=start, end_date=end, reason=reason, created_by=actor,
                      created_at=now())
    db.session.add(absence)
    db.session.flush()
    audit.record("absence.created", actor=actor, details={"absence_id": absence.id, "username": username,
                                                          "start": start.isoformat(), "end": end.isoformat(),
                                                          "reason": reason})
    moved = apply_absences(actor=actor, commit=False)
    forget_routing()
    db.session.commit()
    return absence_view(absence), moved


def end_absence(absence: Absence, actor: str) -> tuple[dict, dict]:
    """End an absence now (or cancel one not yet begun): the clerk's tasks come back to them."""
    if absence.ended_at is not None:
        raise Conflict("该请假登记已结束", {"absence_id": absence.id, "ended_at": absence.ended_at.isoformat()})
    today = local_day()
    if absence.end_date < today:
        raise Conflict(f"该请假已于 {absence.end_date.isoformat()} 到期，无需结束",
                       {"absence_id": absence.id, "end": absence.end_date.isoformat()})
    absence.ended_at, absence.ended_by = now(), actor
    audit.record("absence.ended", actor=actor, details={
        "absence_id": absence.id, "username": absence.user.username, "start": absence.start_date.isoformat(),
        "end": absence.end_date.isoformat(), "early": absence.start_date <= today})
    db.session.flush()
    moved = apply_absences(actor=actor, commit=False)
    forget_routing()
    db.session.commit()
    return absence_view(absence), moved


def _user_or_404(username: str) -> User:
    from .service import get_user_or_404  # service imports this module for routing

    return get_user_or_404(username)
