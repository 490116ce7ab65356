"""Migration 0032 (a task's rank from its diagram) on a filled database (tests/fixtures/filled_0017.json.gz): every
rank moves to Camunda's scale (normal 50, a green-channel case's 1050) and hall_task's copy goes; down to 0031 gives
the old ranks (0, 1) back on both tables, and up again the same as the first time. SQLite, or PostgreSQL with
DATABASE_URL."""

from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db
from tests.conftest import close_app
from tests.migration.test_hall_wing_migration import _app, filled  # noqa: F401  (the filled database)
from tests.migration.test_matter_versions_migration import _migrate


def _read(url: str, sql: str) -> list:
    application = _app(url)
    try:
        with application.app_context():
            rows = [tuple(r) for r in db.session.execute(sa.text(sql)).all()]
            db.session.remove()
            return rows
    finally:
        close_app(application)


RANKS = "SELECT id, priority FROM user_task ORDER BY id"


def test_ranks_move_to_camundas_scale_and_back(filled):  # noqa: F811
    url, _ = filled
    _migrate(url, "head")
    ranks = _read(url, RANKS)
    assert ranks and {rank for _, rank in ranks} <= {50, 1050}
    _migrate(url, "0031_case_walks", down=True)
    old = dict(_read(url, RANKS))
    assert old == {task: (1 if rank == 1050 else 0) for task, rank in ranks}
    kept = dict(_read(url, "SELECT task_id, priority FROM hall_task"))
    assert kept and all(kept[task] == old[task] for task in kept)
    _migrate(url, "head")
    assert _read(url, RANKS) == ranks
