"""Passwords for signing in to the workbench (the API keeps its bearer tokens: people.auth)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..models_base import UtcDateTime


class WebPassword(db.Model):
    """One person's workbench password as an Argon2id hash (argon2-cffi); `demo`: still the demo default."""

    __tablename__ = "web_password"
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True)
    password_hash: Mapped[str] = mapped_column(sa.String(200))
    demo: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    changed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    # bumped by signing out: every session opened before stops working (the cookie alone proves nothing more)
    session_epoch: Mapped[int] = mapped_column(default=0, server_default="0")


class WebSession(db.Model):
    """One signed-in browser: listed for its person (设备与会话) and ended by signing out or by the person from
    another browser. The cookie carries a random id; only its SHA-256 is stored."""

    __tablename__ = "web_session"
    __table_args__ = (sa.Index("ix_web_session_user", "user_id", "ended_at"),)

    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)  # sha256 of the cookie's session id
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("app_user.id", ondelete="CASCADE"))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    last_seen: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    address: Mapped[str | None] = mapped_column(sa.String(64))
    user_agent: Mapped[str | None] = mapped_column(sa.String(300))
    ended_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    ended_by: Mapped[str | None] = mapped_column(sa.String(64))
