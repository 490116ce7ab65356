"""Workbench passwords: Argon2id hashes (argon2-cffi), the demo hall's default password, and sign-in checks."""

from __future__ import annotations

import hashlib
from pathlib import Path

import yaml
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ..clock import now
from ..extensions import db
from ..people.models import User
from .models import WebPassword

DEMO_PASSWORD = "tongban-demo"  # README: change it (TONGBAN_DEMO_PASSWORD, or `flask web password USER`)
MIN_LENGTH = 8

_hasher = PasswordHasher()
# A well-formed hash to verify against when the username is unknown: an unknown user costs as much as a wrong
# password, so timing does not tell which usernames exist.
_DUMMY = _hasher.hash("not a password of anyone")


def demo_password() -> str:
    from flask import current_app, has_app_context

    return (current_app.config.get("DEMO_PASSWORD") if has_app_context() else None) or DEMO_PASSWORD


def set_password(user: User, password: str, *, demo: bool = False, hashed: str | None = None) -> WebPassword:
    row = db.session.get(WebPassword, user.id) or WebPassword(user_id=user.id)
    row.password_hash = hashed or _hasher.hash(password)
    row.demo = demo
    row.changed_at = now()
    db.session.add(row)
    return row


def check(username: str, password: str) -> User | None:
    """The active user with this username and password, or None (same cost either way)."""
    user = db.session.scalar(db.select(User).filter_by(username=username.strip())) if username else None
    row = db.session.get(WebPassword, user.id) if user is not None else None
    try:
        _hasher.verify(row.password_hash if row is not None else _DUMMY, password or "")
    except (VerificationError, InvalidHashError):
        return None
    if user is None or row is None or not user.active:
        return None
    if _hasher.check_needs_rehash(row.password_hash):
        set_password(user, password, demo=row.demo)
        db.session.commit()
    return user


def stamp(user_id: int) -> str | None:
    """What a session remembers of the password and sign-outs it was opened after: a changed password or a
    sign-out ends the sessions opened before."""
    row = db.session.get(WebPassword, user_id)
    if row is None:
        return None
    return hashlib.sha256(f"{row.password_hash}:{row.session_epoch or 0}".encode()).hexdigest()[:16]


def must_change(user_id: int) -> bool:
    """Still the demo hall's shared password: changed at first sign-in before anything else."""
    row = db.session.get(WebPassword, user_id)
    return row is not None and row.demo


def end_sessions(user_id: int) -> None:
    """Sign-out: the person's open sessions (a copied cookie too) stop working."""
    row = db.session.get(WebPassword, user_id)
    if row is not None:
        row.session_epoch = (row.session_epoch or 0) + 1


def weakness(new: str, old: str) -> str | None:
    """Why a new password is refused, in Chinese, or None."""
    if len(new.strip()) < MIN_LENGTH or len(set(new)) < 4:
        return f"新密码至少 {MIN_LENGTH} 位，且不能只是空格或重复的字符"
    if new == old:
        return "新密码不能与原密码相同"
    if new in (DEMO_PASSWORD, demo_password()):
        return "不能使用演示密码"
    return None


def seed_demo(hall: str | Path) -> int:
    """Give every person of hall.yaml who has no workbench password the demo password (one hash for all of them,
    computed once per bootstrap; each password changed later gets its own salt). Never resets a password."""
    data = yaml.safe_load(Path(hall).read_text(encoding="utf-8")) or {}
    names = [p["username"] for p in data.get("users", []) if p.get("username")]
    if not names:
        return 0
    users = db.session.scalars(db.select(User).where(User.username.in_(names))).all()
    have = set(db.session.scalars(db.select(WebPassword.user_id)))
    missing = [u for u in users if u.id not in have]
    if not missing:
        return 0
    hashed = _hasher.hash(demo_password())
    for user in missing:
        set_password(user, "", demo=True, hashed=hashed)
    db.session.commit()
    return len(missing)
