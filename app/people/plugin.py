"""People and posts as a plugin of the runtime: whose department a case is, where tasks go while a post's
holders are away (AB岗), and diagrams that name posts that do not exist."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask import Flask

from ..caches import app_cache
from ..definitions import checks
from ..extensions import db
from ..hookspecs import hookimpl
from ..tasks import service as tasks
from . import absences
from .models import Post


@hookimpl
def case_starting(start) -> None:
    if start.department_code is None:
        start.department_code = department_of(start.definition_id, start.process)


def department_of(definition_id: int, process) -> str | None:
    """Whose case this is, for access by department (people.access): the department of the first of the
    diagram's task posts that has one; remembered per compiled version (a version compiled anew is asked again)."""
    remembered = app_cache("people.case_departments", dict)
    entry = remembered.get(definition_id)
    if entry is not None and entry[0] is process:
        return entry[1]
    posts = [t.post for t in process.user_tasks.values() if t.post]
    found = dict(db.session.execute(sa.select(Post.name, Post.department_code).where(
        Post.name.in_(posts), Post.department_code.is_not(None))).all()) if posts else {}
    department = next((found[p] for p in posts if p in found), None)
    if department is not None:  # none yet (the hall not seeded): ask again next time
        remembered[definition_id] = (process, department)
    return department


@hookimpl
def step_new_tasks(step, rows: list[dict]) -> None:
    """AB岗: a post whose holders are all away sends its new tasks to its backup post; a task the diagram gives to
    a clerk who is away today (camunda:assignee) waits at its post for whoever stands in."""
    today = absences.cached_routing(step.at)
    for row in rows:
        row["post"] = today.route(row["home_post"])
        if row["assignee"] is not None and today.is_absent(row["assignee"]):
            row["assignee"] = row["claimed_at"] = None


@hookimpl
def tasks_migrated(instance, rows: list[dict], at: datetime) -> None:
    today = absences.cached_routing(at)
    for row in rows:
        if "home_post" in row["values"]:
            row["values"]["post"] = today.route(row["values"]["home_post"])


@hookimpl
def deploy_checks(processes, tree, filename: str, options: dict) -> list[dict]:
    """Every lane and candidate group names an existing post; `unknown_posts=allow` makes them warnings."""
    if tree is None:
        return []
    refs = checks.post_references(tree)
    if not refs:
        return []
    known = set(db.session.scalars(sa.select(Post.name).where(Post.name.in_({r.post for r in refs}))))
    where = {"lane": "泳道", "candidateGroups": "候选组 camunda:candidateGroups"}
    allow = options.get("unknown_posts") == "allow"
    found = []
    for ref in refs:
        if ref.post in known:
            continue
        message = f"{filename}: {where[ref.via]} {ref.element} 指向的岗位 {ref.post} 不存在 (unknown post)"
        found.append({"code": "unknown_post", "file": filename, "line": ref.line, "element": ref.element,
                      "post": ref.post, "severity": "warning" if allow else "error",
                      "message": message if allow else message + "；如确需部署，请加 unknown_posts=allow"})
    return found


@hookimpl
def scheduled_jobs(app: Flask) -> list[tuple]:
    # absences begin and end with the date (AB岗 routing)
    return [("apply_absences", absences.apply_absences, app.config.get("ABSENCE_INTERVAL_SECONDS", 60)),
            # GET /posts sums each post's tally: its rows folded to one a post every minute
            ("fold_post_tally", tasks.fold_post_tally, app.config.get("POST_TALLY_INTERVAL_SECONDS", 60.0))]
