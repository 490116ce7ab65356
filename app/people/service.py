"""People and posts: seeding the hall from processes/hall.yaml, users and tokens."""

from __future__ import annotations

from pathlib import Path

import yaml

from ..errors import Invalid, NotFound
from ..extensions import db
from .auth import issue_token
from .models import ROLES, Department, Post, User, Window


def get_user_or_404(username: str) -> User:
    user = db.session.scalar(db.select(User).filter_by(username=username))
    if user is None:
        raise NotFound(f"用户 {username} 不存在", {"username": username})
    return user


def ensure_posts(names: list[str]) -> list[Post]:
    posts = []
    for name in names:
        post = db.session.get(Post, name)
        if post is None:
            raise Invalid(f"岗位 {name} 不存在", {"post": name})
        posts.append(post)
    return posts


def upsert_user(username: str, name: str, roles: list[str], posts: list[str] = (), window: int | None = None) -> User:
    bad = [r for r in roles if r not in ROLES]
    if bad:
        raise Invalid(f"未知角色: {', '.join(bad)}", {"roles": bad, "allowed": list(ROLES)})
    user = db.session.scalar(db.select(User).filter_by(username=username))
    if user is None:
        user = User(username=username, name=name)
        db.session.add(user)
    user.name = name
    user.roles = roles
    user.window_no = window
    user.posts = ensure_posts(list(posts))
    db.session.flush()
    return user


def load_hall(path: str | Path) -> dict[str, int]:
    """Create or update departments, windows, posts and demo users from hall.yaml (idempotent)."""
    hall = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    for dep in hall.get("departments", []):
        row = db.session.get(Department, dep["code"]) or Department(code=dep["code"])
        row.name, row.short, row.letters = dep["name"], dep.get("short", dep["name"]), dep.get("letters")
        db.session.add(row)
    db.session.flush()
    for win in hall.get("windows", []):
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
    return {"departments": len(hall.get("departments", [])), "windows": len(hall.get("windows", [])),
            "posts": len(posts), "users": len(hall.get("users", []))}


def ensure_admin(token: str | None) -> tuple[User, str]:
    """The admin user and a token for it: the given one (TONGBAN_ADMIN_TOKEN) or a new one."""
    admin = db.session.scalar(db.select(User).filter_by(username="admin"))
    if admin is None:
        admin = User(username="admin", name="系统管理员")
        admin.roles = ["admin"]
        db.session.add(admin)
        db.session.flush()
    elif "admin" not in admin.roles:
        admin.roles = [*admin.roles, "admin"]
    return admin, issue_token(admin, label="bootstrap", token=token)
