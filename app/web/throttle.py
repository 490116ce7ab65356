"""Sign-in throttling and lockout, per account and per address, shared by every server process.

The counting is the `limits` package's (the library under Flask-Limiter): fixed windows over rate strings such as
`5 per 15 minutes`. Its counters live in the database (`rate_counter`, a `limits` storage of our own), because
every worker of a server and every server of the center must see the same counts; Flask-Limiter's own backends
are per-process memory or services the center does not run (Redis, Memcached, MongoDB). Time is the app's clock.

* An account is locked by the TONGBAN_SIGNIN_ACCOUNT_LIMIT-th wrong password (default `5 per 15 minutes`): until
  the window ends even the right password is refused — a guesser cannot tell when he got it right.
* An address (the client's IP) is locked after TONGBAN_SIGNIN_ADDRESS_LIMIT failures (default `20 per 15
  minutes`), whatever the usernames: spraying one password over many accounts stops too.
* A successful sign-in clears the account's count. Each lockout is in the audit trail (`web.signin_locked`).
"""

from __future__ import annotations

import datetime as dt
import math
import os

import sqlalchemy as sa
from flask import current_app, request
from limits import RateLimitItem, parse
from limits.storage import Storage
from limits.strategies import FixedWindowRateLimiter
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import now
from ..extensions import db


class RateCounter(db.Model):
    """One fixed window's count for a key (`signin/account/<name>`), until it expires (epoch seconds)."""

    __tablename__ = "rate_counter"
    key: Mapped[str] = mapped_column(sa.String(300), primary_key=True)
    count: Mapped[int] = mapped_column(sa.Integer)
    expires_at: Mapped[float] = mapped_column(sa.Float, index=True)


def _epoch() -> float:
    return now().timestamp()


class DatabaseStorage(Storage):
    """A `limits` storage on the app's database: an atomic upsert per hit, so concurrent workers count together."""

    STORAGE_SCHEME = ["tongban+database"]

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return sa.exc.SQLAlchemyError

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        at = _epoch()
        table = RateCounter.__table__
        dialect = db.engine.dialect.name
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        statement = insert(table).values(key=key, count=amount, expires_at=at + expiry)
        expired = table.c.expires_at <= at
        statement = statement.on_conflict_do_update(index_elements=[table.c.key], set_={
            "count": sa.case((expired, amount), else_=table.c.count + amount),
            "expires_at": sa.case((expired, at + expiry), else_=table.c.expires_at)}).returning(table.c.count)
        return int(db.session.execute(statement).scalar_one())

    def get(self, key: str) -> int:
        row = db.session.execute(sa.select(RateCounter.count, RateCounter.expires_at)
                                 .where(RateCounter.key == key)).first()
        return int(row[0]) if row is not None and row[1] > _epoch() else 0

    def get_expiry(self, key: str) -> float:
        found = db.session.scalar(sa.select(RateCounter.expires_at).where(RateCounter.key == key))
        return float(found) if found is not None and found > _epoch() else _epoch()

    def check(self) -> bool:
        return db.session.execute(sa.select(sa.literal(1))).scalar() == 1

    def reset(self) -> int | None:
        return db.session.execute(sa.delete(RateCounter).where(RateCounter.key.like("signin/%"))).rowcount

    def clear(self, key: str) -> None:
        db.session.execute(sa.delete(RateCounter).where(RateCounter.key == key))


_limiter = FixedWindowRateLimiter(DatabaseStorage())


def _limit(name: str, default: str) -> RateLimitItem:
    return parse(current_app.config.get(name) or os.environ.get(f"TONGBAN_{name}") or default)


def account_limit() -> RateLimitItem:
    return _limit("SIGNIN_ACCOUNT_LIMIT", "5 per 15 minutes")


def address_limit() -> RateLimitItem:
    return _limit("SIGNIN_ADDRESS_LIMIT", "20 per 15 minutes")


def address() -> str:
    return request.remote_addr or "unknown"


def _account(username: str) -> str:
    return (username or "").strip().lower()[:100]


def locked(username: str) -> str | None:
    """Why this sign-in is refused before its password is even checked (in Chinese), or None."""
    for item, who, what in ((account_limit(), ("account", _account(username)), "该账户"),
                            (address_limit(), ("address", address()), "本机")):
        if not _limiter.test(item, "signin", *who):
            reset = _limiter.get_window_stats(item, "signin", *who).reset_time
            minutes = max(1, math.ceil((reset - _epoch()) / 60))
            until = dt.datetime.fromtimestamp(reset, dt.UTC).astimezone(dt.timezone(dt.timedelta(hours=8)))
            return (f"{what}登录失败次数过多，已暂时锁定，请 {minutes} 分钟后（{until:%H:%M} 后）再试；"
                    "如忘记密码，请联系管理员重置")
    return None


def failed(username: str) -> bool:
    """Count a wrong password for the account and the address; True when this failure locked one of them."""
    from ..audit import service as audit

    _limiter.hit(account_limit(), "signin", "account", _account(username))
    _limiter.hit(address_limit(), "signin", "address", address())
    # locked from now on: this failure used up the account's or the address's allowance
    account_ok = _limiter.test(account_limit(), "signin", "account", _account(username))
    address_ok = _limiter.test(address_limit(), "signin", "address", address())
    if not (account_ok and address_ok):
        audit.record("web.signin_locked", actor=None, details={
            "username": _account(username), "address": address(),
            "by": "account" if not account_ok else "address"})
    db.session.commit()
    return not (account_ok and address_ok)


def succeeded(username: str) -> None:
    _limiter.storage.clear(account_limit().key_for("signin", "account", _account(username)))
