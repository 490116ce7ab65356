"""Indexes 办件查询 needs on the intake table (declared here, beside the queries that use them; migration
0019_window creates them)."""

from __future__ import annotations

import sqlalchemy as sa

from ..models import CaseIntake

# the applicant's or the agent's phone and ID number, exact; the agent's name by its beginning
sa.Index("ix_case_intake_phone", CaseIntake.phone)
sa.Index("ix_case_intake_agent_phone", CaseIntake.agent_phone)
sa.Index("ix_case_intake_agent_id_number", CaseIntake.agent_id_number)
sa.Index("ix_case_intake_agent_name", CaseIntake.agent_name)
