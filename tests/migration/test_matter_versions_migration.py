"""Migration 0024 (matter-record versions) on a filled database (tests/fixtures/filled_0017.json.gz, migrated to
the head): every matter record becomes version 1, in force since the matter is, and every case of a catalogued
matter was received under it; down to 0023 and up again leaves the same. SQLite, or PostgreSQL with DATABASE_URL."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from app.extensions import db
from tests.conftest import close_app
from tests.migration.test_hall_wing_migration import ROOT, _app, filled  # noqa: F401  (the filled database)


def _state(url: str) -> tuple[list, list, dict]:
    application = _app(url)
    try:
        with application.app_context():
            versions = db.session.execute(sa.text(
                "SELECT v.matter_code, v.version, v.promised_days, v.statutory_days, v.effective_from, v.reason, "
                "v.applied_at IS NOT NULL, m.promised_days, m.statutory_days, m.effective_from, m.version "
                "FROM matter_version v JOIN matter m ON m.code = v.matter_code ORDER BY v.matter_code")).all()
            matters = db.session.execute(sa.text("SELECT code, version FROM matter ORDER BY code")).all()
            cases = dict(db.session.execute(sa.text(
                "SELECT coalesce(matter_version, -1), count(*) FROM hall_case WHERE matter_code IS NOT NULL "
                "GROUP BY coalesce(matter_version, -1)")).all())
            db.session.remove()
            return versions, matters, cases
    finally:
        close_app(application)


def _migrate(url: str, revision: str, down: bool = False) -> None:
    from flask_migrate import downgrade, upgrade

    application = _app(url)
    try:
        with application.app_context():
            (downgrade if down else upgrade)(directory=str(ROOT / "migrations"), revision=revision)
            db.session.remove()
    finally:
        close_app(application)


def _day(value) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def test_every_record_becomes_version_1_and_every_case_its_version(filled):  # noqa: F811
    url, dump = filled
    _migrate(url, "head")
    versions, matters, cases = _state(url)
    assert len(matters) == len(dump["tables"]["matter"]) == len(versions) > 0
    assert {version for _, version in matters} == {1}
    for code, version, promised, statutory, since, reason, applied, m_promised, m_statutory, m_since, m_version \
            in versions:
        assert (version, promised, statutory, m_version, applied) == (1, m_promised, m_statutory, 1, True), code
        assert _day(since) == _day(m_since) and reason.startswith("初始版本"), code
    assert set(cases) == {1} and cases[1] > 0  # every case of a catalogued matter: version 1

    _migrate(url, "0023_special_pauses", down=True)
    application = _app(url)
    try:
        with application.app_context():
            tables = sa.inspect(db.engine).get_table_names()
            columns = {c["name"] for c in sa.inspect(db.engine).get_columns("hall_case")}
            db.session.remove()
    finally:
        close_app(application)
    assert "matter_version" not in tables and "matter_version" not in columns
    _migrate(url, "head")
    assert _state(url) == (versions, matters, cases)
