"""Who sees and closes supervision warnings: a department's supervisors and those at the post a warning was
escalated to; 中心督查, ops and admin all (the rules of app/people/access.py, applied to warnings)."""

from __future__ import annotations

import sqlalchemy as sa

from ...errors import Forbidden, NotFound
from ...people.access import MANAGE_ALL, SEE_ALL
from ...people.auth import Principal
from .models import SupervisionWarning


def warning_scope(user: Principal) -> sa.ColumnElement | None:
    """The warnings the user may list: their departments' and those escalated to their posts; None: all."""
    warning = SupervisionWarning
    if user.is_(*SEE_ALL):
        return None
    conditions = [sa.false()]
    if user.departments:
        conditions.append(warning.department_code.in_(user.departments))
    if user.post_names:
        conditions.append(warning.post.in_(user.post_names))
    return sa.or_(*conditions)


def check_close_warning(user: Principal, warning) -> None:
    if user.is_(*MANAGE_ALL):
        return
    mine = (warning.department_code is not None and warning.department_code in user.departments) \
        or (warning.post is not None and warning.post in user.post_names)
    if not mine:
        raise NotFound(f"预警 {warning.id} 不存在", {"warning_id": warning.id})
    if not user.is_("supervisor"):
        raise Forbidden("只有督查人员可以关闭预警", {"warning_id": warning.id})
