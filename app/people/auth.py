"""Bearer-token authentication and role checks."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from functools import wraps

from flask import request
from sqlalchemy.orm import joinedload

from ..caches import app_cache
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
    _principals().pop(hashed, None)
    return token


@dataclass(frozen=True)
class Principal:
    """Who is calling: what permission checks and audit entries need, read once per token and kept briefly."""

    id: int
    username: str
    name: str
    roles: tuple[str, ...]
    post_names: tuple[str, ...]
    window_no: int | None
    active: bool = True

    def has_role(self, *roles: str) -> bool:
        return "admin" in self.roles or bool(set(self.roles).intersection(roles))


# token hash -> (expiry, principal). This process forgets at once when people change (forget_principals);
# other server processes see a changed user or a revoked token within PRINCIPAL_TTL seconds.
def _principals() -> dict[str, tuple[float, Principal]]:
    return app_cache("auth.principals", dict)  # per app (app.extensions): a fresh app starts clean


PRINCIPAL_TTL = 5.0


def forget_principals() -> None:
    _principals().clear()


def _load_principal(token_hash: str) -> Principal | None:
    row = db.session.execute(
        db.select(User).join(ApiToken, ApiToken.user_id == User.id).options(joinedload(User.posts))
        .where(ApiToken.token_hash == token_hash, ApiToken.revoked.is_(False))
    ).unique().scalar_one_or_none()
    if row is None or not row.active:
        return None
    return Principal(row.id, row.username, row.name, tuple(row.roles), tuple(row.post_names), row.window_no)


def current_user() -> Principal:
    user = request.environ.get("tongban.user")  # per request (an app context may span several in tests)
    if user is None:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("缺少访问令牌 (missing bearer token)")
        token_hash = hash_token(token.strip())
        cached = _principals().get(token_hash)
        if cached is not None and cached[0] > time.monotonic():
            user = cached[1]
        else:
            user = _load_principal(token_hash)
            if user is None:
                _principals().pop(token_hash, None)
                raise Unauthorized("访问令牌无效 (invalid token)")
            _principals()[token_hash] = (time.monotonic() + PRINCIPAL_TTL, user)
        request.environ["tongban.user"] = user
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
