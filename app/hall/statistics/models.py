"""The indexes the statistics read by: a period of received cases (收件日期), grouped by window, department, matter.

They live on the process_instance table (migration 0005_statistics); declared here so the metadata knows them.
"""

from __future__ import annotations

import sqlalchemy as sa

from ...instances.models import ProcessInstance

PI = ProcessInstance

RECEIVED_WINDOW = sa.Index("ix_process_instance_received_window", PI.received_on, PI.window_no)
RECEIVED_DEPARTMENT = sa.Index("ix_process_instance_received_department", PI.received_on, PI.department_code)
RECEIVED_MATTER = sa.Index("ix_process_instance_received_matter", PI.received_on, PI.matter_code)
MATTER_DEFINITION = sa.Index("ix_process_instance_matter_definition", PI.matter_code, PI.definition_id)
