"""Migration 0025 (reads that do not grow with history) on a filled database (tests/fixtures/filled_0017.json.gz,
migrated to the head): the candidate rows and hall steps of finished tasks are kept, flagged closed, those of open
tasks open; down to 0024 and up again leaves the same. SQLite, or PostgreSQL with DATABASE_URL."""

from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db
from tests.conftest import close_app
from tests.migration.test_hall_wing_migration import _app, filled  # noqa: F401  (the filled database)
from tests.migration.test_matter_versions_migration import _migrate


def _flags(url: str) -> tuple[list, list]:
    application = _app(url)
    try:
        with application.app_context():
            found = tuple(db.session.execute(sa.text(
                f"SELECT u.state = 'open', r.is_open, count(*) FROM {table} r JOIN user_task u ON u.id = r.task_id "
                "GROUP BY u.state = 'open', r.is_open ORDER BY 1, 2")).all() for table in ("task_candidate",
                                                                                          "hall_task"))
            db.session.remove()
            return found
    finally:
        close_app(application)


def test_finished_tasks_rows_stay_flagged_closed(filled):  # noqa: F811
    url, _ = filled
    _migrate(url, "head")
    candidates, steps = _flags(url)
    for rows in (candidates, steps):
        assert all(bool(task_open) == bool(flag) for task_open, flag, _ in rows), rows
    assert any(not task_open for task_open, _, _ in steps) and any(task_open for task_open, _, _ in steps)
    _migrate(url, "0024_matter_versions", down=True)
    _migrate(url, "head")
    assert _flags(url) == (candidates, steps)
