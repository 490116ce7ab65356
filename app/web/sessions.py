"""Workbench sessions: each sign-in is a row its person can see (when, from where, which browser) and end —
this one by signing out, another from the sessions page, or all of them at once."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

import sqlalchemy as sa
from flask import request, session

from ..clock import now
from ..extensions import db
from .models import WebSession

TOUCH_EVERY = dt.timedelta(minutes=5)  # last_seen is written at most this often (not on every request)


def _hash(sid: str) -> str:
    return hashlib.sha256(f"tongban-web-session:{sid}".encode()).hexdigest()


def open_session(user_id: int) -> None:
    """A new row for this sign-in; the cookie gets its random id."""
    sid = secrets.token_urlsafe(32)
    at = now()
    db.session.add(WebSession(id=_hash(sid), user_id=user_id, created_at=at, last_seen=at,
                              address=(request.remote_addr or "")[:64] or None,
                              user_agent=(request.headers.get("User-Agent") or "")[:300] or None))
    session["sid"] = sid


def current(user_id: int) -> WebSession | None:
    """This request's session row, if it is this person's and not ended (touched now and then)."""
    sid = session.get("sid")
    row = db.session.get(WebSession, _hash(sid)) if isinstance(sid, str) else None
    if row is None or row.user_id != user_id or row.ended_at is not None:
        return None
    at = now()
    if at - row.last_seen > TOUCH_EVERY:
        db.session.execute(sa.update(WebSession).where(WebSession.id == row.id).values(last_seen=at))
        db.session.commit()
    return row


def current_id() -> str | None:
    sid = session.get("sid")
    return _hash(sid) if isinstance(sid, str) else None


def of_user(user_id: int) -> list[WebSession]:
    return list(db.session.scalars(sa.select(WebSession).where(
        WebSession.user_id == user_id, WebSession.ended_at.is_(None)).order_by(WebSession.last_seen.desc())))


def end(user_id: int, session_id: str, by: str) -> bool:
    """End one of the person's sessions; False when there is no such open session of theirs."""
    result = db.session.execute(sa.update(WebSession).where(
        WebSession.id == session_id, WebSession.user_id == user_id, WebSession.ended_at.is_(None))
        .values(ended_at=now(), ended_by=by))
    return result.rowcount == 1


def end_all(user_id: int, by: str, keep: str | None = None) -> int:
    query = sa.update(WebSession).where(WebSession.user_id == user_id, WebSession.ended_at.is_(None))
    if keep is not None:
        query = query.where(WebSession.id != keep)
    return db.session.execute(query.values(ended_at=now(), ended_by=by)).rowcount
