"""Where the hall's facts about a case live: one function (and one SQL column) per fact.

The hall is moving its columns off `process_instance` into hall-owned tables; everything under app/cases and the
workbench reads them here, so that move re-points these functions and nothing else.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from ..instances.models import CaseIntake, ProcessInstance

# -- SQL: the columns queries filter, join and order on ------------------------------------------------------------
CASE = ProcessInstance
INTAKE = CaseIntake


def case_number_column() -> sa.ColumnElement:
    return ProcessInstance.case_number


def matter_code_column() -> sa.ColumnElement:
    return ProcessInstance.matter_code


def owner_column() -> sa.ColumnElement:
    return ProcessInstance.owner


def received_on_column() -> sa.ColumnElement:
    return ProcessInstance.received_on


def intake_join(query: sa.Select) -> sa.Select:
    """The case rows with their intake row (the applicant), when there is one."""
    return query.outerjoin(CaseIntake, CaseIntake.instance_id == ProcessInstance.id)


# -- one case in hand --------------------------------------------------------------------------------------------
def case_number(case: ProcessInstance | None) -> str | None:
    if case is None:
        return None
    return case.case_number


def matter_code(case: ProcessInstance) -> str | None:
    return case.matter_code


def owner(case: ProcessInstance) -> str | None:
    return case.owner


def received_on(case: ProcessInstance) -> dt.date | None:
    return case.received_on


def due_date(case: ProcessInstance) -> dt.date | None:
    return case.due_date


def outcome(case: ProcessInstance) -> str | None:
    return case.outcome


def light(case: ProcessInstance) -> str | None:
    return case.light


def green_channel(case: ProcessInstance) -> bool:
    return bool(case.green_channel)


def clock_facts(case: ProcessInstance) -> dict[str, Any]:
    """What a list row shows of a case's clock."""
    return {"received_on": case.received_on, "due_date": case.due_date, "light": case.light,
            "outcome": case.outcome, "green_channel": bool(case.green_channel)}
