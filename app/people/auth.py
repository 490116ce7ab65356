"""Bearer-token authentication and role checks (who may see what: people.access)."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from functools import wraps

from flask import current_app, has_app_context, request
from sqlalchemy.orm import joinedload

from ..caches import app_cache, bump_generation, shared_generation
from ..clock import as_utc, now
from ..errors import Forbidden, Unauthorized
from ..extensions import db
from .models import ApiToken, User, expand_roles

DEFAULT_TOKEN_TTL_DAYS = 90


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return "tb_" + secrets.token_urlsafe(32)


def default_expiry(at: dt.datetime | None = None) -> dt.datetime | None:
    """Now plus TONGBAN_TOKEN_TTL_DAYS (90 by default; 0 means tokens do not expire unless asked to)."""
    days = current_app.config.get("TOKEN_TTL_DAYS", DEFAULT_TOKEN_TTL_DAYS) if has_app_context() \
        else DEFAULT_TOKEN_TTL_DAYS
    return (at or now()) + dt.timedelta(days=float(days)) if days and float(days) > 0 else None


_DEFAULT = object()


def issue_token(user: User, label: str | None = None, token: str | None = None,
                expires_at: dt.datetime | None | object = _DEFAULT) -> str:
    """Create a token for a user (or register a given one); only its hash is stored.

    `expires_at` defaults to the configured TTL; None makes a token that does not expire. A given token that is
    already registered is left as it is (a revoked one stays revoked).
    """
    token = token or new_token()
    hashed = hash_token(token)
    if db.session.scalar(db.select(ApiToken).filter_by(token_hash=hashed)) is None:
        at = now()
        db.session.add(ApiToken(user_id=user.id, token_hash=hashed, label=label, created_at=at,
                                expires_at=default_expiry(at) if expires_at is _DEFAULT else expires_at))
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
    departments: tuple[str, ...] = ()  # whose cases they see (User.department_codes)
    token_id: int | None = None
    token_expires_at: dt.datetime | None = None

    def has_role(self, *roles: str) -> bool:
        mine = expand_roles(self.roles)
        return "admin" in mine or bool(mine.intersection(roles))

    def is_(self, *roles: str) -> bool:
        """Holds one of these roles itself (no admin pass): for what a role sees rather than may do."""
        return bool(expand_roles(self.roles).intersection(roles))


# token hash -> (generation, principal). Kept until people or tokens change on any server process: a change bumps
# the shared generation `principals` in its own transaction (forget_principals, forget_token), and every request
# compares (one primary-key read), so a revoked token or a removed role stops working everywhere at once.
# Expiry is checked on every request against the principal's `token_expires_at`.
GENERATION = "principals"


def _principals() -> dict[str, tuple[int, Principal]]:
    return app_cache("auth.principals", dict)  # per app (app.extensions): a fresh app starts clean


def forget_principals() -> None:
    """People, roles or posts changed (in the caller's transaction): every process reads callers again."""
    bump_generation(GENERATION)
    _principals().clear()


def forget_token(token_hash: str) -> None:
    """A token was revoked (in the caller's transaction): no process accepts it once that commits."""
    bump_generation(GENERATION)
    _principals().pop(token_hash, None)


def _load_principal(token_hash: str) -> Principal | None:
    row = db.session.execute(
        db.select(User, ApiToken).join(ApiToken, ApiToken.user_id == User.id).options(joinedload(User.posts))
        .where(ApiToken.token_hash == token_hash, ApiToken.revoked.is_(False))
    ).unique().first()
    if row is None or not row[0].active:
        return None
    user, token = row
    return Principal(user.id, user.username, user.name, tuple(user.roles), tuple(user.post_names), user.window_no,
                     departments=tuple(user.department_codes), token_id=token.id,
                     token_expires_at=as_utc(token.expires_at) if token.expires_at else None)


def _expired(user: Principal) -> bool:
    return user.token_expires_at is not None and user.token_expires_at <= now()


def current_user() -> Principal:
    user = request.environ.get("tongban.user")  # per request (an app context may span several in tests)
    if user is None:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("缺少访问令牌 (missing bearer token)")
        token_hash = hash_token(token.strip())
        generation = shared_generation(GENERATION)
        cached = _principals().get(token_hash)
        if cached is not None and cached[0] == generation:
            user = cached[1]
        else:
            user = _load_principal(token_hash)
            if user is None:
                _principals().pop(token_hash, None)
                raise Unauthorized("访问令牌无效或已撤销 (invalid or revoked token)")
            _principals()[token_hash] = (generation, user)
        if _expired(user):
            raise Unauthorized("访问令牌已过期，请重新申请 (token expired)",
                               {"expired_at": user.token_expires_at.isoformat()}, code="token_expired")
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

        # for the OpenAPI document (api.openapi.document_errors): this operation needs a token
        wrapper.__dict__.setdefault("_apidoc", {})["tongban_roles"] = list(roles)
        return wrapper

    return decorator
