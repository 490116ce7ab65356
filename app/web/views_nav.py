"""The navigation bar: what each person may open (the same role rules as the pages themselves)."""

from __future__ import annotations

from flask import g, url_for


def nav_items() -> list[tuple[str, str, str]]:
    from ..api.definitions import Definitions
    from ..api.people import Absences
    from ..api.statistics import ROLES as STATISTICS
    from .pages import may

    user = g.get("user")
    items = []
    if user is not None:
        if user.has_role("clerk", "supervisor"):
            items.append(("work", "我的工作", url_for("web.work")))
        items.append(("cases", "办件查询", url_for("web.cases")))
        if may(*STATISTICS):
            items.append(("board", "督查看板", url_for("web.board")))
        if may(like=Absences.get):
            items.append(("absences", "请假与AB岗", url_for("web.absence_list")))
        items.append(("processes", "流程", url_for("web.processes")))
        if may(like=Definitions.post):
            items.append(("modeler", "流程建模", url_for("web.modeler_index")))
    items.append(("guide", "办事指南", url_for("web.guide")))
    return items
