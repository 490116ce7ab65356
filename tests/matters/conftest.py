"""Fixtures for the matter tests: the real hall, forms and catalog, loaded once per module."""

from __future__ import annotations

from contextlib import contextmanager

import pytest

from app.extensions import db
from tools.replay.hall import FORMS, HALL, PROCESSES, ROOT, Hall, catalog, issue_tokens, post_holders  # noqa: F401

# The hall, the catalog and who holds which post live in tools/replay/hall.py (the trial's replay uses them too).


def seed_hall(app, *, load_processes: bool = True) -> Hall:
    """Bootstrap the real hall, forms/ and (optionally) processes/ into the emptied test database."""
    from app.cli import bootstrap
    from tests.conftest import _empty_tables

    saved = {key: app.config[key] for key in ("PROCESSES_DIR", "FORMS_DIR")}
    app.config.update(PROCESSES_DIR=str(PROCESSES), FORMS_DIR=str(FORMS))
    try:
        with app.app_context():
            _empty_tables()
            bootstrap(app, load_processes=load_processes)
            tokens = issue_tokens(label="tests")
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
