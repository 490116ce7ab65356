"""Departments, windows, posts, users and their API tokens."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..models_base import UtcDateTime

ROLES = ("clerk", "supervisor", "center_supervisor", "analyst", "ops", "admin", "worker")  # worker: external tasks
# A role that includes another: 中心督查 (center supervisor) may do what a supervisor may, for every department.
IMPLIED_ROLES = {"center_supervisor": ("supervisor",)}


def expand_roles(roles) -> frozenset[str]:
    return frozenset(roles).union(*(IMPLIED_ROLES.get(r, ()) for r in roles))


class Department(db.Model):
    __tablename__ = "department"
    code: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    short: Mapped[str] = mapped_column(sa.String(50))
    letters: Mapped[str | None] = mapped_column(sa.String(4))
    # the agency's legal name, as its seal and its notices give it (无锡市××区卫生局); hall.yaml
    legal_name: Mapped[str | None] = mapped_column(sa.String(200))
    superior: Mapped[str | None] = mapped_column(sa.String(200))  # its 上一级主管部门 (行政复议 before 2024)
    nature: Mapped[str] = mapped_column(sa.String(20), default="agency", server_default="agency")  # party | union


class Window(db.Model):
    __tablename__ = "window"
    no: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(sa.String(100))
    department_code: Mapped[str | None] = mapped_column(sa.ForeignKey("department.code"))


class Post(db.Model):
    """A post (岗位): what a BPMN lane is named after; tasks are routed to posts."""

    __tablename__ = "post"
    name: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    department_code: Mapped[str | None] = mapped_column(sa.ForeignKey("department.code"))
    kind: Mapped[str] = mapped_column(sa.String(20), default="window_a")
    backup_name: Mapped[str | None] = mapped_column(sa.ForeignKey("post.name"))


user_post = sa.Table(
    "user_post",
    db.metadata,
    sa.Column("user_id", sa.ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("post_name", sa.ForeignKey("post.name", ondelete="CASCADE"), primary_key=True, index=True),
)


class User(db.Model):
    __tablename__ = "app_user"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    roles_text: Mapped[str] = mapped_column("roles", sa.String(200), default="")
    window_no: Mapped[int | None] = mapped_column(sa.ForeignKey("window.no"))
    active: Mapped[bool] = mapped_column(default=True)
    posts: Mapped[list[Post]] = relationship(secondary=user_post, lazy="select")  # only permission checks need them

    @property
    def roles(self) -> list[str]:
        return [r for r in self.roles_text.split(",") if r]

    @roles.setter
    def roles(self, value: list[str]) -> None:
        self.roles_text = ",".join(sorted(set(value)))

    @property
    def post_names(self) -> list[str]:
        return sorted(p.name for p in self.posts)

    def has_role(self, *roles: str) -> bool:
        mine = expand_roles(self.roles)
        return "admin" in mine or bool(mine.intersection(roles))

    @property
    def department_codes(self) -> list[str]:
        """The departments whose cases this user sees (see people.access): their window's department, else the
        departments of the posts they hold — not counting backup posts (B岗), which only bring those posts' tasks."""
        window = db.session.get(Window, self.window_no) if self.window_no is not None else None
        if window is not None and window.department_code:
            return [window.department_code]
        return sorted({p.department_code for p in self.posts if p.department_code and p.kind != "window_b"})


class ApiToken(db.Model):
    """Bearer tokens, stored as SHA-256 hashes only; a token ends at `expires_at` (None: never) or when revoked."""

    __tablename__ = "api_token"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    label: Mapped[str | None] = mapped_column(sa.String(100))
    created_at: Mapped[object] = mapped_column(UtcDateTime())
    revoked: Mapped[bool] = mapped_column(default=False)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    revoked_by: Mapped[str | None] = mapped_column(sa.String(64))


class Absence(db.Model):
    """A clerk away for a date range (Asia/Shanghai dates, both ends included); `ended_at` ends it early.

    While it is in effect the clerk's claimed tasks are released, and posts whose every holder is away send their
    tasks to their backup post (see people.absences.apply_absences).
    """

    __tablename__ = "absence"
    __table_args__ = (
        sa.Index("ix_absence_user_dates", "user_id", "start_date", "end_date"),
        sa.Index("ix_absence_dates", "start_date", "end_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("app_user.id", ondelete="CASCADE"))
    start_date: Mapped[dt.date] = mapped_column(sa.Date)
    end_date: Mapped[dt.date] = mapped_column(sa.Date)
    reason: Mapped[str] = mapped_column(sa.String(500))
    created_by: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    ended_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    ended_by: Mapped[str | None] = mapped_column(sa.String(64))
    user: Mapped[User] = relationship(lazy="joined")


class TaskReturn(db.Model):
    """AB岗: the clerk an open task goes back to when they return from an absence (their claim released while
    away, or a step of a case they own that opened meanwhile). People's own table, keyed by the task."""

    __tablename__ = "task_return"

    task_id: Mapped[str] = mapped_column(sa.ForeignKey("user_task.id", ondelete="CASCADE"), primary_key=True)
    instance_id: Mapped[str] = mapped_column(sa.ForeignKey("process_instance.id", ondelete="CASCADE"))
    username: Mapped[str] = mapped_column(sa.String(64), index=True)
