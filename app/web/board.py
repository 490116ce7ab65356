"""Supervisors and the director: the board — yellow and red warnings with their cases, statistics with charts,
the version comparison against the 30% goal, and CSV export (the statistics service, as GET /statistics/*)."""

from __future__ import annotations

import csv
import datetime as dt
import io

from flask import Response, g, render_template, request

from ..errors import BadRequest
from ..extensions import db
from ..hall.vocabulary import Outcome
from ..matters.models import Matter
from ..people import access
from ..statistics import service as statistics
from ..statistics.views import ROLES as STATISTICS
from ..supervision import service as supervision
from .blueprint import bp
from .pages import page


def _date(name: str) -> dt.date | None:
    raw = request.args.get(name) or ""
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise BadRequest(f"日期格式应为 YYYY-MM-DD：{raw}", {"field": name}) from None


@bp.get("/board")
@page(*STATISTICS)
def board():
    start, end = _date("from"), _date("to")
    user = g.user
    warnings, warnings_total = supervision.search(state="open", level=request.args.get("level") or None,
                                                  scope=access.warning_scope(user), limit=100)
    summary = statistics.summary(start, end)
    departments = statistics.departments(start, end)
    windows = statistics.windows(start, end)
    matters = statistics.matters(start, end)
    daily = statistics.per_day(start, end)
    code = request.args.get("matter") or None
    catalog = list(db.session.execute(db.select(Matter.code, Matter.name).order_by(Matter.code)))
    busiest = sorted((m for m in matters["items"] if m["received"]), key=lambda m: -m["received"])
    if code is None and busiest:
        code = busiest[0]["code"]
    versions = statistics.versions(code, start, end) if code else None
    charts = {
        "daily": {"dates": [d["date"].isoformat() for d in daily["days"]],
                  "received": [d["received"] for d in daily["days"]],
                  "completed": [d["completed"] for d in daily["days"]]},
        "departments": {"names": [d["name"] for d in departments["items"]],
                        "received": [d["received"] for d in departments["items"]],
                        "completed": [d["completed"] for d in departments["items"]],
                        "on_time_rate": [d["on_time_rate"] for d in departments["items"]],
                        "avg_days": [d["avg_working_days"] for d in departments["items"]]},
        "windows": {"names": [f"{w['no']}号" for w in windows["items"]],
                    "traffic": [w["daily_traffic"] or 0 for w in windows["items"]],
                    "merge": [bool(w.get("merge_candidate")) for w in windows["items"]],
                    "merge_below": windows["merge_below"]},
    }
    if versions:
        charts["versions"] = {"names": [f"v{v['version']}" for v in versions["versions"]],
                              "avg_days": [v.get("avg_working_days") for v in versions["versions"]]}
    return render_template("board.html", active="board", warnings=warnings, warnings_total=warnings_total,
                           summary=summary, departments=departments, windows=windows, matters=matters,
                           busiest=busiest[:10], versions=versions, code=code, catalog=catalog, charts=charts,
                           start=start, end=end)


REPORTS = {
    "departments": (lambda s, e: statistics.departments(s, e)["items"],
                    [("code", "部门编码"), ("name", "部门")]),
    "windows": (lambda s, e: statistics.windows(s, e)["items"],
                [("no", "窗口"), ("name", "窗口名称"), ("department_name", "部门"), ("merge_candidate", "建议合并")]),
    "matters": (lambda s, e: statistics.matters(s, e)["items"],
                [("code", "事项编码"), ("name", "事项"), ("kind_name", "办件类型"), ("department_name", "部门")]),
}
FIGURES = [("received", "收件"), ("completed", "办结"), ("open", "在办"), ("on_time", "按时办结"),
           ("on_time_rate", "按时办结率%"), ("avg_working_days", "平均用时(工作日)"), ("p90_working_days", "P90用时"),
           ("overdue", "超期"), ("supplements", "补正次数"), ("refusals", "不予许可"), (str(Outcome.NOT_ACCEPTED), "不予受理"),
           ("green_channel", "绿色通道"), ("daily_traffic", "日均收件"), ("grade", "等级")]


@bp.get("/board/export.csv")
@page(*STATISTICS)
def export():
    report = request.args.get("report") or "departments"
    if report not in REPORTS:
        raise BadRequest(f"未知报表：{report}", {"allowed": sorted(REPORTS)})
    rows, head = REPORTS[report]
    start, end = _date("from"), _date("to")
    columns = head + FIGURES
    out = io.StringIO()
    out.write("\ufeff")  # Excel opens UTF-8 CSV with Chinese correctly only with a BOM
    writer = csv.writer(out)
    writer.writerow([label for _, label in columns])
    for item in rows(start, end):
        writer.writerow(["是" if item.get(k) is True else "" if item.get(k) in (None, False) else item.get(k)
                         for k, _ in columns])
    period = statistics.month_period(start, end)
    name = f"tongban-{report}-{period.start}-{period.end}.csv"
    return Response(out.getvalue(), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f"attachment; filename={name}"})
