"""SQLite: WAL with synchronous=FULL, so an acknowledged write survives a power loss (README, "Durability")."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from app import create_app
from app.extensions import db


def _sqlite(app) -> bool:
    return app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite")


def test_every_connection_syncs_each_commit(app):
    if not _sqlite(app):
        pytest.skip("SQLite's setting; PostgreSQL commits synchronously by default")
    with app.app_context():
        assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert db.session.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL


def test_normal_can_be_chosen_and_nonsense_is_refused(tmp_path):
    url = f"sqlite:///{tmp_path / 'durable.db'}"
    relaxed = create_app({"SQLALCHEMY_DATABASE_URI": url, "SCHEDULER_ENABLED": False, "SQLITE_SYNCHRONOUS": "NORMAL"})
    with relaxed.app_context():
        assert db.session.execute(text("PRAGMA synchronous")).scalar() == 1
        db.session.remove()
        db.engine.dispose()
    with pytest.raises(ValueError, match="TONGBAN_SQLITE_SYNCHRONOUS"):
        create_app({"SQLALCHEMY_DATABASE_URI": url, "SCHEDULER_ENABLED": False, "SQLITE_SYNCHRONOUS": "OFF"})
