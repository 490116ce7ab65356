"""Fixtures for the matter tests: the real hall, forms and catalog, loaded once per module."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from app.extensions import db

ROOT = Path(__file__).resolve().parents[2]
PROCESSES = ROOT / "processes"
FORMS = ROOT / "forms"
HALL = yaml.safe_load((PROCESSES / "hall.yaml").read_text(encoding="utf-8"))


def catalog() -> list[dict]:
    """The 90 matters' records, as the analysts wrote them."""
    return [yaml.safe_load(p.read_text(encoding="utf-8")) for p in sorted(PROCESSES.glob("*/*.yaml"))]


def post_holders() -> dict[str, str]:
    """Post name -> the first hall user holding it (the clerk who does that post's tasks in the tests)."""
    holders: dict[str, str] = {}
    for user in HALL["users"]:
        for post in user.get("posts", []):
            holders.setdefault(post, user["username"])
    return holders


@dataclass
class Hall:
    """Bearer tokens of every hall user, and who holds each post."""

    tokens: dict[str, str]
    holders: dict[str, str] = field(default_factory=post_holders)

    def auth(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[username]}"}

    def holder(self, post: str) -> str:
        assert post in self.holders, f"no hall user holds the post {post}"
        return self.holders[post]


def seed_hall(app, *, load_processes: bool = True) -> Hall:
    """Bootstrap the real hall, forms/ and (optionally) processes/ into the emptied test database."""
    from app.cli import bootstrap
    from app.people.auth import issue_token
    from app.people.models import User
    from tests.conftest import _empty_tables

    saved = {key: app.config[key] for key in ("PROCESSES_DIR", "FORMS_DIR")}
    app.config.update(PROCESSES_DIR=str(PROCESSES), FORMS_DIR=str(FORMS))
    try:
        with app.app_context():
            _empty_tables()
            bootstrap(app, load_processes=load_processes)
            tokens = {user.username: issue_token(user, label="tests")
                      for user in db.session.scalars(db.select(User))}
            db.session.commit()
            db.session.remove()
    finally:
        app.config.update(saved)
    return Hall(tokens)


@pytest.fixture(scope="module")
def hall(make_app):
    """One database for the whole module: the hall, the forms and all 90 matters, deployed once (by an app of
    its own; each test still gets a fresh `app` on that database).

    Tests using it must not use `ctx`/`client`/`people` (those empty every table before each test).
    """
    with seeded_module(make_app) as seeded:
        yield seeded


@contextmanager
def seeded_module(make_app):
    """The real hall seeded by a short-lived app, emptied again when the module is done."""
    from tests.conftest import _empty_tables, close_app

    seeding = make_app()
    try:
        yield seed_hall(seeding)
        with seeding.app_context():
            _empty_tables()
            db.session.remove()
    finally:
        close_app(seeding)


@pytest.fixture()
def guide(hall, app):
    """A test client on the module's database (no token needed for the matter guide)."""
    return app.test_client()
