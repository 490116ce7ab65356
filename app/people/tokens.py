"""API tokens that end: issued with an expiry, listed without their secret, revoked by their user or an admin."""

from __future__ import annotations

import datetime as dt

from ..audit import service as audit
from ..clock import as_utc, now
from ..errors import Forbidden, Invalid, NotFound
from ..extensions import db
from .auth import Principal, default_expiry, forget_token, hash_token, issue_token
from .models import ApiToken, User

MAX_LIFETIME = dt.timedelta(days=3660)  # ten years: far enough, and inside what every database stores


def state(token: ApiToken, at: dt.datetime | None = None) -> str:
    if token.revoked:
        return "revoked"
    if token.expires_at is not None and as_utc(token.expires_at) <= (at or now()):
        return "expired"
    return "active"


def token_view(token: ApiToken, caller: Principal | None = None, at: dt.datetime | None = None) -> dict:
    """What a listing shows of a token: never the secret, nor its hash."""
    return {"id": token.id, "label": token.label, "created_at": token.created_at, "expires_at": token.expires_at,
            "revoked": token.revoked, "revoked_at": token.revoked_at, "revoked_by": token.revoked_by,
            "state": state(token, at), "current": caller is not None and caller.token_id == token.id}


def check_own_or_admin(caller: Principal, username: str) -> None:
    if caller.username != username and not caller.has_role("admin"):
        raise Forbidden("只能查看或撤销自己的访问令牌 (only your own tokens)", {"username": username})


def expiry(expires_in: int | None, expires_at: dt.datetime | None, *, never: bool = False) -> dt.datetime | None:
    """When a new token ends: `expires_in` seconds from now, or `expires_at`, or the default TTL."""
    at = now()
    if expires_in is not None and expires_at is not None:
        raise Invalid("expires_in 与 expires_at 只能指定其一", {"fields": ["expires_in", "expires_at"]})
    if never:
        if expires_in is not None or expires_at is not None:
            raise Invalid("never_expires 不能与 expires_in 或 expires_at 同时指定", {"fields": ["never_expires"]})
        return None
    if expires_in is not None:
        return at + dt.timedelta(seconds=expires_in)
    if expires_at is not None:
        if expires_at <= at:
            raise Invalid("过期时间必须晚于当前时间", {"expires_at": expires_at.isoformat()})
        if expires_at - at > MAX_LIFETIME:
            raise Invalid("过期时间不能超过十年", {"expires_at": expires_at.isoformat()})
        return expires_at
    return default_expiry(at)


def issue(user: User, label: str | None, expires_at: dt.datetime | None, actor: str) -> tuple[str, ApiToken]:
    secret = issue_token(user, label=label, expires_at=expires_at)
    db.session.flush()
    row = db.session.scalar(db.select(ApiToken).filter_by(token_hash=hash_token(secret)))
    audit.record("token.issued", actor=actor, details={"username": user.username, "token_id": row.id,
                                                       "label": label, "expires_at": _iso(expires_at)})
    return secret, row


def list_for(user: User, caller: Principal | None = None) -> list[dict]:
    at = now()
    rows = db.session.scalars(db.select(ApiToken).where(ApiToken.user_id == user.id)
                              .order_by(ApiToken.created_at.desc(), ApiToken.id.desc()))
    return [token_view(t, caller, at) for t in rows]


def get_for_or_404(user: User, token_id: int) -> ApiToken:
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound(f"访问令牌 {token_id} 不存在", {"token_id": token_id, "username": user.username})
    return token


def revoke(token: ApiToken, caller: Principal) -> dict:
    """Revoke a token (idempotent): no server process accepts it once this commits (auth's shared generation)."""
    if not token.revoked:
        token.revoked, token.revoked_at, token.revoked_by = True, now(), caller.username
        audit.record("token.revoked", actor=caller.username,
                     details={"token_id": token.id, "user_id": token.user_id, "label": token.label})
    forget_token(token.token_hash)
    db.session.commit()
    return token_view(token, caller)


def has_valid_token(user: User) -> bool:
    at = now()
    return db.session.scalar(db.select(ApiToken.id).where(
        ApiToken.user_id == user.id, ApiToken.revoked.is_(False),
        (ApiToken.expires_at.is_(None)) | (ApiToken.expires_at > at)).limit(1)) is not None


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
