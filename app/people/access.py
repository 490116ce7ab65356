"""Who may see and do what, by department and post: the one place that decides it (个人信息保护法 applies).

* Cases. admin, 中心督查 (`center_supervisor`) and ops see every case. Everyone else sees the cases of their
  departments (User.department_codes: their window's department, else the departments of the posts they hold,
  backup posts not counted) and the cases they take part in: started, claimed or completed a task of (the owner,
  首问负责制, completed its acceptance), will get a task of back, or that have a task at one of their posts (a
  backup post they cover included). A case someone may not see answers 404, exactly like one that does not exist.
* Tasks. Lists show the tasks of the caller's posts (where a task is routed now, or its home post) and the tasks
  they hold, held or will get back; a supervisor also sees the tasks of their departments' posts. One task can be
  read by whoever may list it or may see its case.
* Applicant identifiers (ID numbers, phone numbers: `IDENTIFIER_KEYS`) are masked for callers who do not handle
  the case: only its participants, the supervisors of its department, 中心督查 and admin see them in full.
* Managing. Cancelling a case, reassigning or releasing someone else's task, absences and closing warnings are
  for the supervisors of the department concerned, 中心督查 and admin (ops may still cancel any case: incidents).

Every rule is also a SQL condition, so lists filter in the database: no list reads a serialized workflow.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ..errors import Forbidden, NotFound
from ..extensions import db
from ..instances.models import CaseParty, ProcessInstance
from ..tasks.models import UserTask
from ..tasks.service import candidates_at, waiting_as_candidate
from . import absences
from .auth import Principal
from .models import Post, TaskReturn, User, Window, user_post

SEE_ALL = ("admin", "center_supervisor", "ops")  # every case and task (ops: incidents, timers)
MANAGE_ALL = ("admin", "center_supervisor")  # manage in every department
READ_IN_FULL = ("admin", "center_supervisor")  # applicant identifiers unmasked in every case


# -- posts -------------------------------------------------------------------------------------------------------
def covered_posts(user: Principal) -> tuple[str, ...]:
    """The posts the user works at today: their own, and those whose holders are all away and whose backup post
    they hold (AB岗) — for a task's further candidate posts, which absence routing does not move."""
    if not user.post_names:
        return ()
    diverted = absences.cached_routing().diverted
    return (*user.post_names, *(home for home, backup in diverted.items() if backup in user.post_names))


def _kept_for(user: Principal) -> sa.ColumnElement:
    """Open tasks that go back to the user when they return from an absence (AB岗)."""
    return UserTask.id.in_(sa.select(TaskReturn.task_id).where(TaskReturn.username == user.username))


def _at_posts(user: Principal) -> list[sa.ColumnElement]:
    if not user.post_names:
        return []
    return [UserTask.post.in_(user.post_names), UserTask.home_post.in_(user.post_names),
            waiting_as_candidate(covered_posts(user))]


def may_work_on(user: Principal, task: UserTask) -> bool:
    """Whether the task is the user's (claimed, or given to them by its diagram's camunda:assignee) or waits at a
    post they work at: where it is routed, its home post, or a further candidate post (its diagram's other
    candidate groups)."""
    if task.assignee == user.username:
        return True
    if task.post is None or task.post in user.post_names or task.home_post in user.post_names:
        return True
    return bool(set(task.other_posts) & set(covered_posts(user)))


# -- cases -------------------------------------------------------------------------------------------------------
def case_scope(user: Principal) -> sa.ColumnElement | None:
    """The cases the user may see, as a condition on ProcessInstance; None: every case. The same sources as a
    case list's (`case_sources`): their starts, their departments, their case_party rows (a primary-key probe per
    case) and the open tasks passing by their posts (a small set: kept for them, or waiting as a candidate)."""
    if user.is_(*SEE_ALL):
        return None
    sources = _sources(user)
    conditions = [ProcessInstance.started_by == user.username]  # OR is evaluated in the written order
    if sources.departments:
        conditions.append(ProcessInstance.department_code.in_(sources.departments))
    conditions.append(sa.select(CaseParty.instance_id).where(CaseParty.instance_id == ProcessInstance.id,
                                                             CaseParty.party.in_(sources.parties))
                      .exists().correlate(ProcessInstance))
    conditions.append(ProcessInstance.id.in_(sources.passing))
    return sa.or_(*conditions)


@dataclass(frozen=True)
class CaseSources:
    """case_scope's sources, which a list can each walk newest first from an index of its own, and merge:
    together they admit exactly the cases case_scope admits. A walk of case_scope itself probes every newer case
    of the center for the user's part in it (thousands, for a clerk of a small department)."""

    departments: tuple[str, ...]  # process_instance.department_code
    started_by: str  # process_instance.started_by
    parties: tuple[str, ...]  # case_party.party: the user's tasks (held, completed) and their posts' tasks
    passing: sa.Select  # ids of cases with an open task kept for the user or waiting as a candidate at their posts


def parties(user: Principal) -> tuple[str, ...]:
    """The user's names in case_party: themselves (`u:`) and each post they hold (`p:`)."""
    return (f"u:{user.username}", *(f"p:{post}" for post in user.post_names))


def case_sources(user: Principal) -> CaseSources | None:
    """case_scope as sources (see CaseSources); None: every case."""
    return None if user.is_(*SEE_ALL) else _sources(user)


def _sources(user: Principal) -> CaseSources:
    # one id set, read through each source's index and then the tasks' primary key (`id IN a OR id IN b` is a
    # scan of every task)
    tasks = [sa.select(TaskReturn.task_id).where(TaskReturn.username == user.username)]
    if user.post_names:
        tasks.append(candidates_at(covered_posts(user)))
    return CaseSources(departments=tuple(user.departments), started_by=user.username, parties=parties(user),
                       passing=sa.select(UserTask.instance_id).where(UserTask.id.in_(sa.union_all(*tasks))))


def _takes_part(user: Principal, instance_ids: Iterable[str]) -> set[str]:
    """Which of these cases the user takes part in through a task: their case_party rows (primary-key lookups),
    and the open tasks passing by their posts."""
    ids = list(instance_ids)
    if not ids:
        return set()
    sources = _sources(user)
    named = sa.select(CaseParty.instance_id).where(CaseParty.instance_id.in_(ids),
                                                    CaseParty.party.in_(sources.parties))
    passing = sources.passing.where(UserTask.instance_id.in_(ids))
    return set(db.session.scalars(sa.union(named, passing)))


def may_see_case(user: Principal, instance: ProcessInstance) -> bool:
    if user.is_(*SEE_ALL) or user.username == instance.started_by \
            or (instance.department_code is not None and instance.department_code in user.departments):
        return True
    return bool(_takes_part(user, [instance.id]))


def not_found(instance_id: str) -> NotFound:
    return NotFound(f"办件 {instance_id} 不存在", {"instance_id": instance_id})


def visible_case(user: Principal, instance_id: str) -> ProcessInstance:
    """The case if the user may see it; 404 otherwise, the same answer as for a case that does not exist."""
    instance = db.session.get(ProcessInstance, instance_id)
    if instance is None or not may_see_case(user, instance):
        raise not_found(instance_id)
    return instance


def handled(user: Principal, instances: Iterable[ProcessInstance]) -> set[str]:
    """The ids of those cases the user handles (sees applicants' identifiers in full): one query at most."""
    rows = list(instances)
    if user.is_(*READ_IN_FULL):
        return {i.id for i in rows}
    mine = {i.id for i in rows if user.username == i.started_by
            or (user.is_("supervisor") and i.department_code is not None and i.department_code in user.departments)}
    return mine | _takes_part(user, [i.id for i in rows if i.id not in mine])


def handles(user: Principal, instance: ProcessInstance) -> bool:
    return instance.id in handled(user, [instance])


def check_manage_case(user: Principal, instance: ProcessInstance) -> None:
    """Cancelling: a supervisor of the case's department, 中心督查, admin or ops (404 for a case one cannot see)."""
    if not may_see_case(user, instance):
        raise not_found(instance.id)
    if user.is_("ops") or manages_department(user, instance.department_code):
        return
    raise Forbidden("只有本部门督查人员或中心督查可以撤销该办件",
                    {"instance_id": instance.id, "department": instance.department_code,
                     "your_departments": list(user.departments)})


def manages_department(user: Principal, department: str | None) -> bool:
    return user.is_(*MANAGE_ALL) or (user.is_("supervisor") and department is not None
                                     and department in user.departments)


# -- starting cases ----------------------------------------------------------------------------------------------
START_ANY = ("admin", "center_supervisor", "ops")  # receive any department's matter


def start_departments(user: Principal) -> frozenset[str] | None:
    """The departments whose matters the user may receive (start a case of); None: every department.

    A clerk serves their window's department and the departments of every post they hold (a backup post too: they
    receive for it while its holders are away); the comprehensive window (综合窗口, and its posts 综合受理A/B岗, which
    belong to no department) serves them all. A supervisor receives for their departments.
    """
    if user.is_(*START_ANY):
        return None
    served = set(user.departments)
    if user.window_no is not None:
        exists, department = absences.window_department(user.window_no)
        if exists and department is None:  # the comprehensive window
            return None
        if department is not None:
            served.add(department)
    for post in filter(None, map(absences.post_info, user.post_names)):
        if post.department_code is None and post.kind in ("window_a", "window_b"):
            return None
        if post.department_code is not None:
            served.add(post.department_code)
    return frozenset(served)


# -- tasks -------------------------------------------------------------------------------------------------------
def _department_posts(departments: Iterable[str]):
    return sa.select(Post.name).where(Post.department_code.in_(list(departments)))


def lists_all_at(user: Principal, post: str | None) -> bool:
    """Whether every task routed to `post` is in the user's lists: their own post, or (a supervisor) one of
    their departments' posts."""
    if post is None:
        return False
    if user.is_(*SEE_ALL) or post in user.post_names:
        return True
    return bool(user.is_("supervisor") and user.departments and db.session.scalar(
        _department_posts(user.departments).where(Post.name == post)) is not None)


def task_scope(user: Principal, post: str | None = None) -> sa.ColumnElement | None:
    """The tasks the user's lists show, as a condition on UserTask; None: every task — or every task of the list
    of `post` when the user holds it (all that waits there, routed or as a candidate, is theirs to see: the list
    is then read from the post's index alone)."""
    if user.is_(*SEE_ALL) or (post is not None and post in user.post_names):
        return None
    conditions = [UserTask.assignee == user.username, UserTask.completed_by == user.username, _kept_for(user),
                  *_at_posts(user)]
    if user.is_("supervisor") and user.departments:
        posts = _department_posts(user.departments)
        conditions += [UserTask.post.in_(posts), UserTask.home_post.in_(posts)]
    return sa.or_(*conditions)


def _listed_for(user: Principal, task: UserTask) -> bool:
    """task_scope's conditions on one row, without a query; False may still be True by department (supervisors)."""
    if user.is_(*SEE_ALL) or user.username in (task.assignee, task.completed_by):
        return True
    if task.post in user.post_names or task.home_post in user.post_names:
        return True
    return task.state == "open" and bool(task.other_posts) and bool(set(task.other_posts) & set(covered_posts(user)))


def visible_task(user: Principal, task_id: str) -> UserTask:
    """The task if the user may list it or see its case; 404 otherwise."""
    task = db.session.get(UserTask, task_id)
    if task is not None:
        if _listed_for(user, task):  # what task_scope says, decided on the row in hand (the common case)
            return task
        scope = task_scope(user)
        if scope is None or db.session.scalar(sa.select(UserTask.id).where(UserTask.id == task_id, scope)):
            return task
        instance = db.session.get(ProcessInstance, task.instance_id)
        if instance is not None and may_see_case(user, instance):
            return task
    raise NotFound(f"任务 {task_id} 不存在", {"task_id": task_id})


def task_departments(task: UserTask) -> set[str]:
    """The departments a task belongs to: its posts' departments and its case's."""
    posts = {p for p in (task.post, task.home_post) if p}
    found = set(db.session.scalars(sa.select(Post.department_code).where(
        Post.name.in_(posts), Post.department_code.is_not(None)))) if posts else set()
    case_department = db.session.scalar(
        sa.select(ProcessInstance.department_code).where(ProcessInstance.id == task.instance_id))
    return found | ({case_department} if case_department else set())


def check_manage_task(user: Principal, task: UserTask) -> None:
    """Reassigning, or releasing someone else's claim: a supervisor of the task's department, 中心督查, admin."""
    if user.is_(*MANAGE_ALL):
        return
    departments = task_departments(task)
    if user.is_("supervisor") and departments & set(user.departments):
        return
    raise Forbidden("只有本部门督查人员或中心督查可以改派或释放他人的任务",
                    {"task_id": task.id, "departments": sorted(departments),
                     "your_departments": list(user.departments)})


# -- people: absences --------------------------------------------------------------------------------------------
def _department_user_ids(departments: Iterable[str]):
    """Users who belong to these departments (by window, or by a post that is not a backup post)."""
    departments = list(departments)
    by_window = sa.select(User.id).join(Window, Window.no == User.window_no).where(
        Window.department_code.in_(departments))
    no_window_department = sa.or_(User.window_no.is_(None), User.window_no.in_(
        sa.select(Window.no).where(Window.department_code.is_(None))))
    by_post = sa.select(User.id).join(user_post, user_post.c.user_id == User.id) \
        .join(Post, Post.name == user_post.c.post_name) \
        .where(no_window_department, Post.department_code.in_(departments), Post.kind != "window_b")
    return sa.union(by_window, by_post)


def people_scope(user: Principal, user_id_column) -> sa.ColumnElement | None:
    """The people whose absences the user may see and record; None: everyone."""
    if user.is_(*MANAGE_ALL):
        return None
    if not (user.is_("supervisor") and user.departments):
        return sa.false()
    return user_id_column.in_(_department_user_ids(user.departments))


def check_manage_person(user: Principal, target: User) -> None:
    if user.is_(*MANAGE_ALL):
        return
    if user.is_("supervisor") and set(target.department_codes) & set(user.departments):
        return
    raise Forbidden(f"{target.name}（{target.username}）不属于您督查的部门，不能为其登记或结束请假",
                    {"username": target.username, "departments": target.department_codes,
                     "your_departments": list(user.departments)})


# -- applicant identifiers ---------------------------------------------------------------------------------------
# Data keys that hold an applicant's identifiers (forms and matter diagrams use these names; docs/conventions.md).
# A key matches when it is one of these or ends with `_` + one of these (`applicant_phone`, `legal_id_number`).
IDENTIFIER_KEYS = ("id_number", "id_no", "id_card", "idcard", "passport_no", "passport_number", "phone",
                   "phone_number", "mobile", "mobile_number", "telephone", "tel", "身份证号", "证件号码", "手机号",
                   "联系电话")


def is_identifier(key: str) -> bool:
    name = key.lower()
    return any(name == k or name.endswith("_" + k) for k in IDENTIFIER_KEYS)


def mask_value(value: Any) -> Any:
    """`320211199001011234` → `320***********1234`, `13812345678` → `138****5678`; short values all stars."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, (dict, list)):
        return mask(value, everything=True)
    text = str(value)
    if len(text) >= 8:
        return text[:3] + "*" * (len(text) - 7) + text[-4:]
    return "*" * len(text)


def mask(data: Any, *, everything: bool = False) -> Any:
    """A copy of case data (or an audit entry's details) with every identifier masked, at any depth."""
    if isinstance(data, dict):
        return {k: mask_value(v) if everything or (isinstance(k, str) and is_identifier(k)) else mask(v)
                for k, v in data.items()}
    if isinstance(data, list):
        return [mask_value(v) if everything else mask(v) for v in data]
    return mask_value(data) if everything else data
