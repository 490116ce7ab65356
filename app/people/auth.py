"""Bearer-token authentication and role checks."""

from __future__ import annotations

import hashlib
import secrets
from functools import wraps

from flask import request
from sqlalchemy.orm import joinedload

from ..errors import Forbidden, Unauthorized
from ..extensions import db
from .models import ApiToken, User


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return "tb_" + secrets.token_urlsafe(32)


def issue_token(user: User, label: str | None = None, token: str | None = None) -> str:
    """Create a token for a user (or register a given one); only its hash is stored."""
    from ..clock import now

    token = token or new_token()
    hashed = hash_token(token)
    if db.session.scalar(db.select(ApiToken).filter_by(token_hash=hashed)) is None:
        db.session.add(ApiToken(user_id=user.id, token_hash=hashed, label=label, created_at=now()))
    return token


def current_user() -> User:
    user = request.environ.get("tongban.user")  # per request (an app context may span several in tests)
    if user is None:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("缺少访问令牌 (missing bearer token)")
        row = db.session.execute(
            db.select(User).join(ApiToken, ApiToken.user_id == User.id).options(joinedload(User.posts))
            .where(ApiToken.token_hash == hash_token(token.strip()), ApiToken.revoked.is_(False))
        ).unique().scalar_one_or_none()
        if row is None or not row.active:
            raise Unauthorized("访问令牌无效 (invalid token)")
        request.environ["tongban.user"] = user = row
    return user


def require(*roles: str):
    """Require a valid token; with roles, also one of those roles (admin passes every check)."""

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            user = current_user()
            if roles and not user.has_role(*roles):
                raise Forbidden("当前角色无权执行此操作", {"required_roles": list(roles), "your_roles": user.roles})
            return view(*args, **kwargs)

        return wrapper

    return decorator
