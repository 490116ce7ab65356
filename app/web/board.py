"""Supervisors and the director: the board — yellow and red warnings with their cases (closed here with a note),
statistics with charts, per clerk, the version comparison against the 30% goal, and CSV and Excel export (the
statistics service, as GET /statistics/*)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass

from flask import Response, g, render_template, request

from ..api.statistics import CLERK_ROLES, clerk_departments, statistics_scope
from ..api.statistics import ROLES as STATISTICS
from ..api.supervision import CloseWarning
from ..errors import BadRequest, Forbidden, NotFound
from ..extensions import db
from ..hall.models import HallCase
from ..hall.statistics import service as statistics
from ..hall.supervision import access as warning_access
from ..hall.supervision import service as supervision
from ..hall.vocabulary import Outcome
from ..matters.models import Matter
from .blueprint import bp
from .pages import may, page


def _date(name: str) -> dt.date | None:
    raw = request.args.get(name) or ""
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise BadRequest(f"日期格式应为 YYYY-MM-DD：{raw}", {"field": name}) from None


def may_see_clerks() -> bool:
    return may(*CLERK_ROLES)


@bp.get("/board")
@page(*STATISTICS)
def board():
    return render_board()


def render_board(errors: dict[int, str] | None = None, notes: dict[int, str] | None = None, status: int = 200):
    """The board; `errors` and `notes` by warning id: a refused close shows its message and the note typed, in
    place (supervise.close_warning)."""
    start, end = _date("from"), _date("to")
    user = g.user
    warnings, warnings_total = supervision.search(state="open", level=request.args.get("level") or None,
                                                  scope=warning_access.warning_scope(user), limit=100)
    # the warnings name their cases by case number, as the rest of the workbench does
    ids = {w["instance_id"] for w in warnings}
    case_numbers = dict(db.session.execute(db.select(HallCase.instance_id, HallCase.case_number).where(
        HallCase.instance_id.in_(ids), HallCase.case_number.is_not(None))).all()) if ids else {}
    # a department's supervisor sees their departments' figures, every one of them; 中心督查, ops and admin the
    # whole center (the API's scope: api.statistics.statistics_scope)
    scope = statistics_scope(user)
    summary = statistics.summary(start, end, scope)
    departments = statistics.departments(start, end, scope)
    windows = statistics.windows(start, end, only=scope)
    matters = statistics.matters(start, end, only=scope)
    daily = statistics.per_day(start, end, scope)
    code = request.args.get("matter") or None
    catalog_query = db.select(Matter.code, Matter.name).order_by(Matter.code)
    if scope is not None:
        catalog_query = catalog_query.where(Matter.department_code.in_(scope))
    catalog = list(db.session.execute(catalog_query))
    busiest = sorted((m for m in matters["items"] if m["received"]), key=lambda m: -m["received"])
    if code is None and busiest:
        code = busiest[0]["code"]
    versions, versions_error = None, None
    if code:
        try:
            versions = statistics.versions(code, start, end, only=scope)
        except (NotFound, Forbidden) as exc:  # a matter unknown or not theirs: said in its card, the board stays
            versions_error = exc.message
    speed_up = statistics.speed_up(start, end, only=scope)
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
    clerks = statistics.clerks(start, end, clerk_departments(user, None))["items"] if may_see_clerks() else None
    if clerks is not None:
        active = [c for c in clerks if c["cases"] or c["steps_completed"]]
        busiest_clerks = sorted(active, key=lambda c: -(c["cases"] + c["steps_completed"]))[:12]
        charts["clerks"] = {"names": [c["name"] for c in busiest_clerks],
                            "received": [c["received"] for c in busiest_clerks],
                            "accepted": [c["accepted"] for c in busiest_clerks],
                            "steps": [c["steps_completed"] for c in busiest_clerks],
                            "on_time_rate": [c["on_time_rate"] for c in busiest_clerks]}
        clerks = {"active": active, "idle": len(clerks) - len(active)}
    if versions:
        charts["versions"] = {"names": [f"v{v['version']}" for v in versions["versions"]],
                              "avg_days": [v.get("avg_working_days") for v in versions["versions"]]}
    return render_template("board.html", active="board", warnings=warnings, warnings_total=warnings_total,
                           summary=summary, departments=departments, windows=windows, matters=matters,
                           busiest=busiest[:10], versions=versions, versions_error=versions_error, code=code,
                           speed_up=speed_up,
                           catalog=catalog, charts=charts,
                           start=start, end=end, clerks=clerks, reports=reports_for_user(),
                           may_close=may(like=CloseWarning.post), errors=errors or {}, notes=notes or {},
                           case_numbers=case_numbers, scope_names=[d["name"] for d in departments["items"]]
                           if scope is not None else None), status


@dataclass(frozen=True)
class Report:
    """An exportable report: its name on the board and in the workbook, its rows, its columns, who may read it
    (the roles of its API route)."""

    title: str
    rows: Callable[[dt.date | None, dt.date | None], list[dict]]
    columns: list[tuple[str, str]]
    roles: tuple[str, ...] = STATISTICS


FIGURES = [("received", "收件"), ("completed", "办结"), ("open", "在办"), ("on_time", "按时办结"),
           ("on_time_rate", "按时办结率%"), ("avg_working_days", "平均用时(工作日)"), ("p90_working_days", "P90用时"),
           ("overdue", "超期"), ("supplements", "补正次数"), ("refusals", "不予许可"), (str(Outcome.NOT_ACCEPTED), "不予受理"),
           ("green_channel", "绿色通道"), ("daily_traffic", "日均收件"), ("grade", "等级")]
CLERK_COLUMNS = [("username", "用户名"), ("name", "姓名"), ("department_name", "部门"), ("window_no", "窗口"),
                 ("posts", "岗位"), ("received", "收件"), ("accepted", "受理(首问负责)"), ("steps_completed", "办理环节"),
                 ("steps_late", "环节超时"), ("avg_step_working_days", "环节平均用时(工作日)"), ("cases", "经办件"),
                 ("completed", "办结"), ("on_time", "按时办结"), ("on_time_rate", "按时办结率%"),
                 ("avg_working_days", "平均用时(工作日)"), ("overdue", "超期"), ("grade", "等级")]
SPEED_UP_COLUMNS = [("code", "事项编码"), ("name", "事项"), ("department_name", "部门"),
                    ("promised_before", "原承诺时限(工作日)"), ("promised_after", "现承诺时限(工作日)"),
                    ("promised_speed_up_percent", "承诺时限压缩%"), ("decided_before", "原版本办结件"),
                    ("avg_before", "原平均用时(工作日)"), ("decided_after", "现版本办结件"), ("avg_after", "现平均用时(工作日)"),
                    ("actual_speed_up_percent", "实际提速%"), ("goal_met", "达到目标")]


def _scope() -> list[str] | None:
    """The departments the signed-in person's figures count (None: the whole center), as on the API."""
    return statistics_scope(g.user)


def speed_up_rows(start: dt.date | None, end: dt.date | None) -> list[dict]:
    """The speed-up report as rows: each matter whose limit changed, then the center's figure."""
    report = statistics.speed_up(start, end, only=_scope())
    rows = []
    for item in report["items"]:
        if not item["limit_changed"]:
            continue
        before, after = item["before"], item["after"]
        rows.append({**item, "promised_before": before["promised_days"], "promised_after": after["promised_days"],
                     "decided_before": before["decided"], "avg_before": before["avg_working_days"],
                     "decided_after": after["decided"], "avg_after": after["avg_working_days"]})
    center = report["center"]
    rows.append({"code": "", "name": "全中心" if report["departments"] is None else "合计（本人督查部门）",
                 "promised_before": center["promised_days_before"], "promised_after": center["promised_days_after"],
                 "promised_speed_up_percent": center["promised_speed_up_percent"],
                 "decided_before": center["decided_before"], "avg_before": center["avg_working_days_before"],
                 "decided_after": center["decided_after"], "avg_after": center["avg_working_days_after"],
                 "actual_speed_up_percent": center["actual_speed_up_percent"], "goal_met": center["goal_met"]})
    return rows


REPORTS = {
    "departments": Report("部门", lambda s, e: statistics.departments(s, e, _scope())["items"],
                          [("code", "部门编码"), ("name", "部门"), *FIGURES]),
    "windows": Report("窗口", lambda s, e: statistics.windows(s, e, only=_scope())["items"],
                      [("no", "窗口"), ("name", "窗口名称"), ("department_name", "部门"), ("merge_candidate", "建议合并"),
                       *FIGURES]),
    "matters": Report("事项", lambda s, e: statistics.matters(s, e, only=_scope())["items"],
                      [("code", "事项编码"), ("name", "事项"), ("kind_name", "办件类型"), ("department_name", "部门"),
                       *FIGURES]),
    "clerks": Report("人员", lambda s, e: statistics.clerks(s, e, clerk_departments(g.user, None))["items"],
                     CLERK_COLUMNS, roles=CLERK_ROLES),
    "speed_up": Report("提速", speed_up_rows, SPEED_UP_COLUMNS),
}


def reports_for_user() -> list[tuple[str, str]]:
    return [(name, report.title) for name, report in REPORTS.items() if may(*report.roles)]


def _report(name: str) -> Report:
    report = REPORTS.get(name)
    if report is None:
        raise BadRequest(f"未知报表：{name}", {"allowed": sorted(REPORTS)})
    if not may(*report.roles):  # the API route's own roles: per-clerk figures are for supervisors
        raise Forbidden("当前角色无权导出该报表", {"report": name, "required_roles": list(report.roles)})
    return report


_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def cell(value):
    """A figure as a report shows it: 是 for true, blank for false and none, lists joined. A text a spreadsheet
    would run as a formula (a matter's or a clerk's name starting with = + - @) gets a leading apostrophe."""
    if value is True:
        return "是"
    if value is None or value is False:
        return ""
    if isinstance(value, (list, tuple)):
        value = "、".join(str(v) for v in value)
    if isinstance(value, str) and value.startswith(_FORMULA):
        return "'" + value
    return value


def _filename(report: str, extension: str) -> str:
    period = statistics.month_period(_date("from"), _date("to"))
    return f"tongban-{report}-{period.start}-{period.end}.{extension}"


@bp.get("/board/export.csv")
@page(*STATISTICS)
def export():
    report = _report(request.args.get("report") or "departments")
    start, end = _date("from"), _date("to")
    out = io.StringIO()
    out.write("\ufeff")  # Excel opens UTF-8 CSV with Chinese correctly only with a BOM
    writer = csv.writer(out)
    writer.writerow([label for _, label in report.columns])
    for item in report.rows(start, end):
        writer.writerow([cell(item.get(k)) for k, _ in report.columns])
    name = _filename(request.args.get("report") or "departments", "csv")
    return Response(out.getvalue(), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f"attachment; filename={name}"})


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.get("/board/export.xlsx")
@page(*STATISTICS)
def export_xlsx():
    """An Excel workbook: the chosen report, or (`report=all`, the default) one sheet per report the person may
    read; Chinese headers in the first row, numbers as numbers."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    chosen = request.args.get("report") or "all"
    names = [n for n, _ in reports_for_user()] if chosen == "all" else [chosen]
    reports = [(n, _report(n)) for n in names]
    start, end = _date("from"), _date("to")
    period = statistics.month_period(start, end)
    book = Workbook()
    book.remove(book.active)
    book.properties.title = f"通办统计报表 {period.start} 至 {period.end}"
    book.properties.creator = g.user.name
    for _, report in reports:
        sheet = book.create_sheet(report.title)
        sheet.append([label for _, label in report.columns])
        for item in report.rows(start, end):
            sheet.append([cell(item.get(k)) for k, _ in report.columns])
        for column in sheet[1]:
            column.font = Font(bold=True)
            column.fill = PatternFill("solid", fgColor="DDE6F0")
            column.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        sheet.freeze_panes = "A2"
        for index, (_, label) in enumerate(report.columns, start=1):
            values = [label, *(str(c.value) for c in sheet[get_column_letter(index)][1:] if c.value is not None)]
            # a Chinese character is about two Latin ones wide
            widest = max(sum(2 if ord(ch) > 0x2E80 else 1 for ch in v) for v in values)
            sheet.column_dimensions[get_column_letter(index)].width = min(max(widest + 2, 6), 40)
    out = io.BytesIO()
    book.save(out)
    return Response(out.getvalue(), mimetype=XLSX,
                    headers={"Content-Disposition": f"attachment; filename={_filename(chosen, 'xlsx')}"})
