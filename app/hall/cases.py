"""A case as the hall knows it (`hall_case`), for a step or for an act of the hall's own (延期, the sweep).

In a step the row is read once, write-locked (the runtime already holds the case row: same lock order), and kept
on the step for every part of the hall that runs in it. A new case's row is made by the clock when the case is a
matter's, and inserted after the runtime's row (`insert_new`, from the after-flush hook): the hall never writes a
row of the runtime's, and its own row refers to it.
"""

from __future__ import annotations

import sqlalchemy as sa

from ..extensions import db
from ..hookspecs import StepResult
from .models import HallCase

_KEY = "hall.case"
_NEW = "hall.case.new"


def for_step(step: StepResult) -> HallCase | None:
    """The case's hall row for this step (None: not a matter's case), read once and locked."""
    if _KEY in step.plugin_rows:
        return step.plugin_rows[_KEY]
    row = None if step.is_new else lock(step.case_id)
    step.plugin_rows[_KEY] = row
    return row


def start(step: StepResult, row: HallCase) -> HallCase:
    """A new matter case's row, kept on the step until the runtime's row is written."""
    step.plugin_rows[_KEY] = row
    step.plugin_rows[_NEW] = True
    return row


def insert_new(step: StepResult) -> None:
    """After the runtime's row is flushed: the new case's hall row joins the session (written with the step)."""
    if step.plugin_rows.pop(_NEW, False):
        db.session.add(step.plugin_rows[_KEY])
        db.session.flush()


# built once: every step reads it (building a statement costs SQLAlchemy more than running it); SQLite renders no
# FOR UPDATE (its writer holds the whole database)
_LOCK = sa.select(HallCase).where(HallCase.instance_id == sa.bindparam("id")) \
    .execution_options(populate_existing=True).with_for_update()


def lock(instance_id: str) -> HallCase | None:
    """The hall row, fresh and write-locked for this transaction (PostgreSQL; SQLite's writer holds the database)."""
    with db.session.no_autoflush:
        return db.session.scalar(_LOCK, {"id": instance_id})


def get(instance_id: str) -> HallCase | None:
    return db.session.get(HallCase, instance_id)
