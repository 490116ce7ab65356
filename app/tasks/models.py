"""User tasks as rows: lists are index lookups, never scans of serialized workflows (defined with the case's other
rows in app/instances/models.py, written by the runtime)."""

from ..instances.models import TASK_STATES as STATES
from ..instances.models import TaskCandidate, TaskSubmission, UserTask, candidate_rows

__all__ = ["STATES", "TaskCandidate", "TaskSubmission", "UserTask", "candidate_rows"]
