"""People and posts: seeding the hall, users and tokens, posts with their holders (see absences.py for AB岗)."""


from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import yaml

from ..errors import Conflict, Invalid, NotFound
from ..extensions import db
from ..tasks import service as tasks
from .absences import forget_routing, routing
from .auth import forget_principals, issue_token
from .models import ROLES, Department, Post, User, Window, user_post


def get_user_or_404(username: str) -> User:
    user = db.session.scalar(db.select(User).filter_by(username=username))
    if user is None:
        raise NotFound(f"用户 {username} 不存在", {"username": username})
    return user


def ensure_posts(names: list[str]) -> list[Post]:
    posts = []
    for name in dict.fromkeys(names):  # a post named twice is held once
        post = db.session.get(Post, name)
        if post is None:
            raise Invalid(f"岗位 {name} 不存在", {"post": name})
        posts.append(post)
    return posts


def upsert_user(username: str, name: str, roles: list[str], posts: list[str] = (), window: int | None = None) -> User:
    bad = [r for r in roles if r not in ROLES]
    if bad:
        raise Invalid(f"未知角色: {', '.join(bad)}", {"roles": bad, "allowed": list(ROLES)})
    if window is not None and db.session.get(Window, window) is None:
        raise Invalid(f"窗口 {window} 不存在", {"window": window})
    user = db.session.scalar(db.select(User).filter_by(username=username))
    if user is None:
        user = User(username=username, name=name)
        db.session.add(user)
    user.name = name
    user.roles = roles
    user.window_no = window
    user.posts = ensure_posts(list(posts))
    db.session.flush()
    forget_routing()
    forget_principals()  # roles and posts of callers are kept briefly by the token check
    return user


def load_hall(path: str | Path) -> dict[str, int]:
    """Create or update departments, windows, posts and demo users from hall.yaml (idempotent)."""
    hall = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    for dep in hall.get("departments", []):
        row = db.session.get(Department, dep["code"]) or Department(code=dep["code"])
        row.name, row.short, row.letters = dep["name"], dep.get("short", dep["name"]), dep.get("letters")
        row.legal_name, row.superior = dep.get("legal_name"), dep.get("superior")
        row.nature = dep.get("nature") or "agency"
        db.session.add(row)
    db.session.flush()
    for win in hall.get("windows", []):
        number = win["no"] if "no" in win else win.get(False)  # a bare `no:` key is the boolean false in YAML 1.1
        if not isinstance(number, int):
            raise Invalid("hall.yaml 中窗口缺少编号 no", {"window": win.get("name")})
        win = {**win, "no": number}
        row = db.session.get(Window, win["no"]) or Window(no=win["no"])
        row.name, row.department_code = win["name"], win.get("department")
        db.session.add(row)
    posts = hall.get("posts", [])
    for post in posts:  # first the posts, then their backups (a backup is itself a post)
        row = db.session.get(Post, post["name"]) or Post(name=post["name"])
        row.department_code, row.kind = post.get("department"), post.get("kind", "window_a")
        db.session.add(row)
    db.session.flush()
    for post in posts:
        db.session.get(Post, post["name"]).backup_name = post.get("backup")
    for person in hall.get("users", []):
        upsert_user(person["username"], person["name"], person.get("roles", ["clerk"]),
                    person.get("posts", []), person.get("window"))
    db.session.flush()
    forget_routing()  # posts and their backups may have changed
    return {"departments": len(hall.get("departments", [])), "windows": len(hall.get("windows", [])),
            "posts": len(posts), "users": len(hall.get("users", []))}


def ensure_admin(token: str | None) -> tuple[User, str | None]:
    """The admin user, and the token minted for it now, if any.

    A given token (TONGBAN_ADMIN_TOKEN) is registered without an expiry (it is the operator's to rotate) and
    returned; one already registered is left as it is, so a revoked one stays revoked. Without one, a new token
    is minted only when the admin has no token that is still valid: a restart does not mint another.
    """
    admin = db.session.scalar(db.select(User).filter_by(username="admin"))
    if admin is None:
        admin = User(username="admin", name="系统管理员")
        admin.roles = ["admin"]
        db.session.add(admin)
        db.session.flush()
    elif "admin" not in admin.roles:
        admin.roles = [*admin.roles, "admin"]
        forget_principals()
    if token:
        return admin, issue_token(admin, label="TONGBAN_ADMIN_TOKEN", token=token, expires_at=None)
    from .tokens import has_valid_token

    if has_valid_token(admin):
        return admin, None
    return admin, issue_token(admin, label="bootstrap")


def seed_hall(path: str | Path) -> dict[str, int]:
    """Like `load_hall`, but only adds what is missing: departments, windows, posts and users changed through the
    API keep their changes (bootstrap calls this; see definitions.flows.seed_hall)."""
    hall = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    added = {"departments": 0, "windows": 0, "posts": 0, "users": 0}
    filled = False
    for dep in hall.get("departments", []):
        row = db.session.get(Department, dep["code"])
        if row is None:
            db.session.add(Department(code=dep["code"], name=dep["name"], short=dep.get("short", dep["name"]),
                                      letters=dep.get("letters"), legal_name=dep.get("legal_name"),
                                      superior=dep.get("superior"), nature=dep.get("nature") or "agency"))
            added["departments"] += 1
            continue
        for field in ("legal_name", "superior"):  # fields added to hall.yaml since: filled where still empty
            if getattr(row, field) is None and dep.get(field):
                setattr(row, field, dep[field])
                filled = True
        if dep.get("nature") and row.nature in (None, "agency") and row.nature != dep["nature"]:
            row.nature = dep["nature"]
            filled = True
    db.session.flush()
    for win in hall.get("windows", []):
        number = win["no"] if "no" in win else win.get(False)  # a bare `no:` key is the boolean false in YAML 1.1
        if not isinstance(number, int):
            raise Invalid("hall.yaml 中窗口缺少编号 no", {"window": win.get("name")})
        if db.session.get(Window, number) is None:
            db.session.add(Window(no=number, name=win["name"], department_code=win.get("department")))
            added["windows"] += 1
    new_posts = []
    for post in hall.get("posts", []):
        if db.session.get(Post, post["name"]) is None:
            db.session.add(Post(name=post["name"], department_code=post.get("department"),
                                kind=post.get("kind", "window_a")))
            new_posts.append(post)
    db.session.flush()
    for post in new_posts:  # backups once every post exists (a backup is itself a post)
        db.session.get(Post, post["name"]).backup_name = post.get("backup")
    added["posts"] = len(new_posts)
    if new_posts or filled or added["departments"] or added["windows"]:  # the catalogs anew
        forget_routing()
    for person in hall.get("users", []):
        if db.session.scalar(db.select(User.id).filter_by(username=person["username"])) is None:
            upsert_user(person["username"], person["name"], person.get("roles", ["clerk"]),
                        person.get("posts", []), person.get("window"))
            added["users"] += 1
    db.session.flush()
    return added


def create_post(name: str, department: str | None, kind: str, backup: str | None = None) -> str:
    """A new post (岗位); 409 if the name is taken, 422 for an unknown department or backup."""
    name = name.strip()
    if not name:
        raise Invalid("岗位名称不能为空", {"field": "name"})
    if db.session.get(Post, name) is not None:
        raise Conflict(f"岗位 {name} 已存在", {"post": name})
    if department is not None and db.session.get(Department, department) is None:
        raise Invalid(f"部门 {department} 不存在", {"department": department})
    if backup is not None and db.session.get(Post, backup) is None:
        raise Invalid(f"备岗 {backup} 不存在", {"backup": backup})
    db.session.add(Post(name=name, department_code=department, kind=kind, backup_name=backup))
    db.session.flush()
    forget_routing()
    return name


def list_posts(department: str | None = None, kind: str | None = None) -> list[dict]:
    """Every post with its holders (present or away), backup, and open-task counts (one grouped query)."""
    query = db.select(Post)
    if department:
        query = query.where(Post.department_code == department)
    if kind:
        query = query.where(Post.kind == kind)
    posts = sorted(db.session.scalars(query), key=lambda p: (p.department_code or "", p.name))
    departments = dict(db.session.execute(db.select(Department.code, Department.name)).all())
    backup_for = defaultdict(list)
    for name, backup in db.session.execute(db.select(Post.name, Post.backup_name).where(Post.backup_name.is_not(None))):
        backup_for[backup].append(name)
    holders = defaultdict(list)
    for post_name, username, name, window in db.session.execute(
            db.select(user_post.c.post_name, User.username, User.name, User.window_no)
            .join(User, User.id == user_post.c.user_id).where(User.active.is_(True)).order_by(User.username)):
        holders[post_name].append({"username": username, "name": name, "window": window})
    counts = tasks.open_by_post()  # the tally's few rows a post, not every open task
    today = routing()
    result = []
    for post in posts:
        total, claimed = counts.get(post.name, (0, 0))
        result.append({
            "name": post.name, "kind": post.kind, "department": post.department_code,
            "department_name": departments.get(post.department_code), "backup": post.backup_name,
            "backup_for": sorted(backup_for.get(post.name, [])),
            "holders": [{**h, "absent": today.is_absent(h["username"])} for h in holders.get(post.name, [])],
            "routed_to": today.diverted.get(post.name),
            "open_tasks": total, "claimed_tasks": claimed, "unclaimed_tasks": total - claimed})
    return result
