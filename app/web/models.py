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
