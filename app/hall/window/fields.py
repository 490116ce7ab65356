"""Where the hall's facts about a case live (`hall_case`, beside the runtime's row): one function (and one SQL column)
per fact, for 办件查询, corrections and attachments. A query on cases joins the hall's row with `with_hall`."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from ...instances.models import ProcessInstance
from .. import cases
from ..models import CaseIntake, HallCase

# -- SQL: the columns queries filter, join and order on ------------------------------------------------------------
CASE = ProcessInstance
INTAKE = CaseIntake


def case_number_column() -> sa.ColumnElement:
    return HallCase.case_number


def matter_code_column() -> sa.ColumnElement:
    return HallCase.matter_code


def owner_column() -> sa.ColumnElement:
    return HallCase.owner


def received_on_column() -> sa.ColumnElement:
    return HallCase.received_on


def with_hall(query: sa.Select) -> sa.Select:
    """The case rows with the hall's row (a case of no matter has none)."""
    return query.outerjoin(HallCase, HallCase.instance_id == ProcessInstance.id)


def intake_join(query: sa.Select) -> sa.Select:
    """The case rows with their intake row (the applicant), when there is one."""
    return query.outerjoin(CaseIntake, CaseIntake.instance_id == ProcessInstance.id)


# -- one case in hand --------------------------------------------------------------------------------------------
def _hall(case) -> HallCase | None:
    if case is None:
        return None
    if isinstance(case, HallCase):
        return case
    found = getattr(case, "hall", None)  # a CaseView carries it
    if isinstance(found, HallCase):
        return found
    return cases.get(case.id)


def case_number(case) -> str | None:
    row = _hall(case)
    return row.case_number if row else None


def matter_code(case) -> str | None:
    row = _hall(case)
    return row.matter_code if row else None


def owner(case) -> str | None:
    row = _hall(case)
    return row.owner if row else None


def received_on(case) -> dt.date | None:
    row = _hall(case)
    return row.received_on if row else None


def due_date(case) -> dt.date | None:
    row = _hall(case)
    return row.due_date if row else None


def outcome(case) -> str | None:
    row = _hall(case)
    return row.outcome if row else None


def light(case) -> str | None:
    row = _hall(case)
    return row.light if row else None


def green_channel(case) -> bool:
    row = _hall(case)
    return bool(row.green_channel) if row else False


def clock_facts(case) -> dict[str, Any]:
    """What a list row shows of a case's clock."""
    row = _hall(case)
    if row is None:
        return {"received_on": None, "due_date": None, "light": None, "outcome": None, "green_channel": False}
    return {"received_on": row.received_on, "due_date": row.due_date, "light": row.light,
            "outcome": row.outcome, "green_channel": bool(row.green_channel)}
