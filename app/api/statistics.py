"""/api/v1/statistics: the center's report figures per window, department, matter and process version, and the
speed-up (提速) across matter-record versions.

Scope: a department's supervisor counts only their departments' cases in every report (and may ask only for one of
them: 403 otherwise, as for the per-clerk figures); 中心督查, ops and admin count the whole center."""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import ValidationError, fields, validate, validates_schema

from ..errors import Forbidden, Invalid
from ..hall.statistics import service
from ..matters.models import KINDS
from ..people import access
from ..people.auth import Principal, current_user, require
from ..schemas import ApiSchema, IsoDate, LocalDateTime, QuerySchema
from .blueprint import Blueprint

blp = Blueprint("statistics", __name__, url_prefix="/api/v1/statistics",
                description="统计报表：窗口、部门、事项的收件、办结、按时办结率、超期、窗口流量与流程版本对比")

ROLES = ("supervisor", "ops")  # and admin; checked before the query, so a clerk gets 403 whatever it asks
# Figures per person are about staff, not cases: for those who manage them (a department's supervisors, 中心督查,
# admin), each within the departments they manage (people.access.manages_department), not for ops.
CLERK_ROLES = ("supervisor",)

_FIELD_LABELS = {"from": "开始日期 from", "to": "结束日期 to", "merge_below": "合并阈值 merge_below",
                 "base": "基准版本 base", "compare": "对比版本 compare", "department": "部门 department",
                 "kind": "办件类型 kind"}


class StatisticsArgs(QuerySchema):
    """A period of received cases (收件日期), both ends included. Bad input: 422 with a Chinese message."""

    start = IsoDate(data_key="from", load_default=None,
                    metadata={"description": "first day (收件日期), YYYY-MM-DD; default: the current month's first"})
    end = IsoDate(data_key="to", load_default=None,
                  metadata={"description": "last day, YYYY-MM-DD; default: the current month's last"})

    @validates_schema
    def _period(self, data, **kwargs):
        start, end = data.get("start"), data.get("end")
        if start is not None and end is not None and start > end:
            raise ValidationError(f"开始日期 {start.isoformat()} 晚于结束日期 {end.isoformat()}", "_period")

    def handle_error(self, error, data, *, many, **kwargs):
        messages = error.normalized_messages()
        parts = []
        for field, problems in messages.items():
            text = "；".join(problems) if isinstance(problems, list) else str(problems)
            parts.append(text if field in ("_period", "_schema") else f"{_FIELD_LABELS.get(field, field)}：{text}")
        raise Invalid("；".join(parts) or "查询参数无效", messages)


class WindowArgs(StatisticsArgs):
    merge_below = fields.Float(
        load_default=None, validate=validate.Range(min=0, max=10000, error="应在 0 到 10000 之间"),
        error_messages={"invalid": "应为数字（每个工作日的件数）"},
        metadata={"description": "a window below this many cases per working day is a merge candidate "
                                 "(default 2.0, or TONGBAN_MERGE_BELOW)"})
    department = fields.String(load_default=None, metadata={"description": "only the windows of this department"})


class MatterArgs(StatisticsArgs):
    department = fields.String(load_default=None, metadata={"description": "implementing department code, e.g. fgj"})
    kind = fields.String(load_default=None, validate=validate.OneOf(KINDS, error="应为 " + " | ".join(KINDS)),
                         metadata={"description": " | ".join(KINDS)})


class ClerkArgs(StatisticsArgs):
    department = fields.String(load_default=None, metadata={
        "description": "only this department's cases and people (a department's supervisor: one of theirs)"})


class SpeedUpArgs(StatisticsArgs):
    start = IsoDate(data_key="from", load_default=None, metadata={
        "description": "first day (收件日期) of the cases compared, and the day whose limit is `before`; default: "
                       "no lower bound (the first version's limit)"})
    end = IsoDate(data_key="to", load_default=None, metadata={
        "description": "last day of the cases compared, and the day whose limit is `after`; default: today"})
    department = fields.String(load_default=None, metadata={
        "description": "one department's matters and cases (a department's supervisor: one of theirs)"})


class VersionArgs(StatisticsArgs):
    start = IsoDate(data_key="from", load_default=None,
                    metadata={"description": "first day (收件日期), YYYY-MM-DD; default: no lower bound"})
    end = IsoDate(data_key="to", load_default=None, metadata={"description": "last day; default: no upper bound"})
    base = fields.Integer(load_default=None, validate=validate.Range(min=1, max=1_000_000, error="版本号应为 1 至 1000000 的整数"),
                          error_messages={"invalid": "版本号应为正整数"},
                          metadata={"description": "the version compared against; default: see compare"})
    compare = fields.Integer(load_default=None, validate=validate.Range(min=1, max=1_000_000, error="版本号应为 1 至 1000000 的整数"),
                             error_messages={"invalid": "版本号应为正整数"},
                             metadata={"description": "the newer version; default: the latest version with "
                                                      "completed cases, base the one before it with completed cases"})


# -- responses -----------------------------------------------------------------------------------------------------
class GradeThresholdSchema(ApiSchema):
    grade = fields.String(metadata={"description": "优秀 | 良好 | 合格 | 不合格"})
    min_on_time_rate = fields.Float(metadata={"description": "percent"})


class FiguresSchema(ApiSchema):
    received = fields.Integer(metadata={"description": "cases received (收件) in the period"})
    completed = fields.Integer(metadata={"description": "of those, closed by a decision or an answer (办结); 撤销, "
                                                        "撤件 and 补正超时终止 are counted apart"})
    open = fields.Integer(metadata={"description": "still open (or stopped by an error)"})
    cancelled = fields.Integer(metadata={"description": "cancelled by the agency (撤销)"})
    withdrawn = fields.Integer(metadata={"description": "withdrawn at the window (撤件)"})
    supplement_timeouts = fields.Integer(metadata={"description": "ended for want of the supplement (补正超时终止)"})
    decided = fields.Integer(metadata={"description": "decided (决定), or answered 不予受理: what on_time counts"})
    on_time = fields.Integer(metadata={"description": "decided by the due date (按时决定): the decision's clock"})
    on_time_rate = fields.Float(allow_none=True, metadata={
        "description": "percent: on_time / decided cases with a clock verdict; null when none"})
    avg_working_days = fields.Float(allow_none=True, metadata={
        "description": "decided cases' working days, from acceptance (受理) to the decision (决定)"})
    p90_working_days = fields.Integer(allow_none=True, metadata={
        "description": "90th percentile (nearest rank) of the decided cases' working days"})
    overdue = fields.Integer(metadata={"description": "decided late + open with a red light (超期)"})
    supplements = fields.Integer(metadata={"description": "supplement notices (补正告知), summed"})
    refusals = fields.Integer(metadata={"description": "outcome refused (不予许可)"})
    not_accepted = fields.Integer(metadata={"description": "outcome not_accepted (不予受理)"})
    green_channel = fields.Integer(metadata={"description": "green-channel cases (绿色通道)"})
    daily_traffic = fields.Float(allow_none=True, metadata={
        "description": "received / working days of the period up to today; null when none has begun"})
    grade = fields.String(allow_none=True, metadata={
        "description": "优秀 | 良好 | 合格 | 不合格 from on_time_rate; null below TONGBAN_MIN_GRADED_CASES decided cases"})
    grade_note = fields.String(allow_none=True, metadata={"description": "why there is no grade (样本不足)"})


class PeriodSchema(ApiSchema):
    start = fields.Date(data_key="from", attribute="from")
    end = fields.Date(data_key="to", attribute="to")
    working_days = fields.Integer(metadata={"description": "working days in the period"})
    traffic_working_days = fields.Integer(metadata={
        "description": "working days of the period up to today: what daily_traffic divides by"})
    grade_thresholds = fields.List(fields.Nested(GradeThresholdSchema))


class WindowFiguresSchema(FiguresSchema):
    no = fields.Integer()
    name = fields.String()
    department = fields.String(allow_none=True)
    department_name = fields.String(allow_none=True)
    merge_candidate = fields.Boolean(metadata={"description": "daily_traffic below merge_below (可考虑合并)"})


class WindowReportSchema(PeriodSchema):
    merge_below = fields.Float()
    items = fields.List(fields.Nested(WindowFiguresSchema), metadata={"description": "every window, by number"})
    merge_candidates = fields.List(fields.Integer(), metadata={"description": "numbers of the merge candidates"})
    unassigned = fields.Nested(FiguresSchema, metadata={"description": "cases without a (known) window"})


class DepartmentFiguresSchema(FiguresSchema):
    code = fields.String()
    name = fields.String()


class DepartmentReportSchema(PeriodSchema):
    items = fields.List(fields.Nested(DepartmentFiguresSchema), metadata={"description": "every department"})
    unassigned = fields.Nested(FiguresSchema, metadata={"description": "cases without a (known) department"})


class MatterFiguresSchema(FiguresSchema):
    code = fields.String(allow_none=True)
    name = fields.String(allow_none=True)
    kind = fields.String(allow_none=True)
    kind_name = fields.String(allow_none=True)
    department = fields.String(allow_none=True)
    department_name = fields.String(allow_none=True)


class MatterReportSchema(PeriodSchema):
    items = fields.List(fields.Nested(MatterFiguresSchema), metadata={
        "description": "every catalogued matter by code, then codes with cases but no catalog entry (name null)"})


class KindFiguresSchema(FiguresSchema):
    kind = fields.String(allow_none=True)
    kind_name = fields.String()


class SummarySchema(PeriodSchema, FiguresSchema):
    by_kind = fields.List(fields.Nested(KindFiguresSchema), metadata={"description": "即办件, 承诺件, 联办件, 上报件"})
    green_channel_figures = fields.Nested(FiguresSchema, metadata={"description": "the green-channel cases only"})


class MatterRefSchema(ApiSchema):
    code = fields.String()
    name = fields.String()
    kind = fields.String()
    kind_name = fields.String(allow_none=True)
    department = fields.String()
    process_key = fields.String()


class VersionFiguresSchema(ApiSchema):
    version = fields.Integer()
    definition_id = fields.Integer()
    deployed_at = LocalDateTime()
    cases = fields.Integer(metadata={"description": "cases received on this version in the period"})
    completed = fields.Integer()
    on_time = fields.Integer()
    on_time_rate = fields.Float(allow_none=True, metadata={"description": "percent"})
    grade = fields.String(allow_none=True)
    avg_working_days = fields.Float(allow_none=True)
    p90_working_days = fields.Integer(allow_none=True)
    avg_elapsed_hours = fields.Float(allow_none=True, metadata={"description": "ended_at − started_at, completed"})


class VersionComparisonSchema(ApiSchema):
    matter = fields.Nested(MatterRefSchema)
    start = fields.Date(data_key="from", attribute="from", allow_none=True)
    end = fields.Date(data_key="to", attribute="to", allow_none=True)
    versions = fields.List(fields.Nested(VersionFiguresSchema), metadata={"description": "every deployed version"})
    base = fields.Nested(VersionFiguresSchema, allow_none=True)
    compare = fields.Nested(VersionFiguresSchema, allow_none=True)
    speed_up_percent = fields.Float(allow_none=True, metadata={
        "description": "(base avg working days − compare's) / base's, percent"})
    elapsed_speed_up_percent = fields.Float(allow_none=True, metadata={"description": "the same on elapsed hours"})
    goal_percent = fields.Float(metadata={"description": "the 30% goal of process re-engineering"})
    goal_basis = fields.String(allow_none=True, metadata={
        "description": "working_days, or elapsed_hours when the base version averages 0 working days"})
    goal_met = fields.Boolean(allow_none=True)
    note = fields.String(allow_none=True)


class ClerkFiguresSchema(ApiSchema):
    username = fields.String()
    name = fields.String()
    window_no = fields.Integer(allow_none=True)
    department = fields.String(allow_none=True, metadata={"description": "the person's department (their window's, "
                                                                         "else their posts')"})
    department_name = fields.String(allow_none=True)
    posts = fields.List(fields.String())
    received = fields.Integer(metadata={"description": "cases they received (收件) in the period"})
    accepted = fields.Integer(metadata={"description": "cases they own (首问负责: accepted at their window)"})
    cases = fields.Integer(metadata={"description": "cases they took part in: received, own or completed a step of"})
    completed = fields.Integer(metadata={"description": "of `cases`, completed (办结)"})
    on_time = fields.Integer(metadata={"description": "of `cases`, completed on time"})
    on_time_rate = fields.Float(allow_none=True, metadata={
        "description": "percent, over `cases` completed with a clock verdict; null when none"})
    avg_working_days = fields.Float(allow_none=True, metadata={"description": "`cases` completed: working days used"})
    overdue = fields.Integer(metadata={"description": "of `cases`: completed late + open with a red light"})
    grade = fields.String(allow_none=True, metadata={"description": "优秀 | 良好 | 合格 | 不合格 from on_time_rate"})
    steps_completed = fields.Integer(metadata={"description": "user tasks they completed in the period"})
    steps_late = fields.Integer(metadata={"description": "of those, completed after the step's deadline"})
    avg_step_working_days = fields.Float(allow_none=True, metadata={
        "description": "working days from a step's opening to its completion, on average"})


class ClerkReportSchema(PeriodSchema):
    departments = fields.List(fields.String(), allow_none=True, metadata={
        "description": "the departments counted; null: the whole center"})
    items = fields.List(fields.Nested(ClerkFiguresSchema), metadata={
        "description": "the clerks in scope (zeros too) and anyone else with a figure; by department, window, name"})


class SpeedUpSideSchema(ApiSchema):
    versions = fields.List(fields.Integer(), metadata={"description": "the record's versions of this era (one limit)"})
    effective_from = fields.Date(metadata={"description": "the era's first version took effect"})
    promised_days = fields.Integer(metadata={"description": "承诺时限, working days"})
    statutory_days = fields.Integer(metadata={"description": "法定时限, working days"})
    received = fields.Integer(metadata={"description": "cases received under it in the period"})
    decided = fields.Integer(metadata={"description": "of those, decided (决定): what the actual days count"})
    working_days_total = fields.Integer(metadata={"description": "the decided cases' working days, summed"})
    avg_working_days = fields.Float(allow_none=True, metadata={
        "description": "decision working days (受理 → 决定) per decided case"})


class SpeedUpVersionSchema(ApiSchema):
    version = fields.Integer()
    effective_from = fields.Date()
    promised_days = fields.Integer()
    statutory_days = fields.Integer()
    reason = fields.String(allow_none=True)
    received = fields.Integer()
    decided = fields.Integer()
    avg_working_days = fields.Float(allow_none=True)


class SpeedUpMatterSchema(ApiSchema):
    code = fields.String()
    name = fields.String()
    kind = fields.String()
    kind_name = fields.String(allow_none=True)
    department = fields.String()
    department_name = fields.String(allow_none=True)
    limit_changed = fields.Boolean(metadata={"description": "the promised limit before differs from after"})
    before = fields.Nested(SpeedUpSideSchema, allow_none=True, metadata={
        "description": "the era in force on `from` (the first without it); null when the limit did not change"})
    after = fields.Nested(SpeedUpSideSchema, metadata={"description": "the era in force on `to`"})
    promised_speed_up_percent = fields.Float(allow_none=True, metadata={
        "description": "(before − after) / before of the promised limits"})
    actual_speed_up_percent = fields.Float(allow_none=True, metadata={
        "description": "(before − after) / before of the average decision working days"})
    goal_met = fields.Boolean(allow_none=True, metadata={"description": "both speed-ups at least the goal"})
    versions = fields.List(fields.Nested(SpeedUpVersionSchema), metadata={"description": "every version by `to`"})


class SpeedUpCenterSchema(ApiSchema):
    matters_changed = fields.Integer(metadata={"description": "matters whose promised limit changed"})
    promised_days_before = fields.Integer(allow_none=True, metadata={"description": "their limits before, summed"})
    promised_days_after = fields.Integer(allow_none=True, metadata={"description": "their limits after, summed"})
    promised_speed_up_percent = fields.Float(allow_none=True)
    matters_compared = fields.Integer(metadata={
        "description": "of those, matters with decided cases both before and after: what the actual figure counts"})
    decided_before = fields.Integer()
    decided_after = fields.Integer()
    avg_working_days_before = fields.Float(allow_none=True, metadata={"description": "case-weighted"})
    avg_working_days_after = fields.Float(allow_none=True, metadata={"description": "case-weighted"})
    actual_speed_up_percent = fields.Float(allow_none=True)
    promised_goal_met = fields.Boolean(allow_none=True)
    actual_goal_met = fields.Boolean(allow_none=True)
    goal_met = fields.Boolean(allow_none=True, metadata={"description": "both; null while either is unknown"})


class SpeedUpReportSchema(ApiSchema):
    start = fields.Date(data_key="from", attribute="from", allow_none=True)
    end = fields.Date(data_key="to", attribute="to", allow_none=True)
    department = fields.String(allow_none=True)
    departments = fields.List(fields.String(), allow_none=True, metadata={
        "description": "the departments counted; null: the whole center"})
    goal_percent = fields.Float(metadata={"description": "TONGBAN_SPEED_UP_GOAL, 30 by default"})
    center = fields.Nested(SpeedUpCenterSchema, metadata={"description": "the center (the departments in scope)"})
    items = fields.List(fields.Nested(SpeedUpMatterSchema), metadata={
        "description": "matters whose record changed (more than one version by `to`), by code"})


def statistics_scope(user: Principal, department: str | None = None) -> list[str] | None:
    """The departments whose cases the user's figures count: None for the whole center (中心督查, ops, admin), a
    department's supervisor their own. Asking for a department outside them: 403 (as for the per-clerk figures)."""
    if user.is_(*access.SEE_ALL):
        return None
    mine = list(user.departments)
    if department is not None and department not in mine:
        raise Forbidden("只能查看本人督查部门的统计", {"department": department, "your_departments": mine})
    return mine


def clerk_departments(user, department: str | None) -> list[str] | None:
    """The departments whose clerks the user may compare: None for all (中心督查, admin), else their own — or the
    one asked for, when they manage it (403 otherwise)."""
    from ..errors import Forbidden
    from ..people import access

    if department is not None:
        if not access.manages_department(user, department):
            raise Forbidden("只能查看本人督查部门的人员统计", {"department": department,
                                                       "your_departments": list(user.departments)})
        return [department]
    if user.is_(*access.MANAGE_ALL):
        return None
    return list(user.departments)


# -- routes --------------------------------------------------------------------------------------------------------
@blp.route("/windows")
class Windows(MethodView):
    @require(*ROLES)
    @blp.arguments(WindowArgs, location="query")
    @blp.response(200, WindowReportSchema)
    def get(self, args):
        """Per window: received, completed, on-time rate, working days, overdue, traffic, grade. A department's
        supervisor: their departments' windows (and any other window that received their cases), counting their
        departments' cases only."""
        scope = statistics_scope(current_user(), args["department"])
        return service.windows(args["start"], args["end"], args["merge_below"], args["department"], only=scope)


@blp.route("/departments")
class Departments(MethodView):
    @require(*ROLES)
    @blp.arguments(StatisticsArgs, location="query")
    @blp.response(200, DepartmentReportSchema)
    def get(self, args):
        """Per department (all of them; a department's supervisor: theirs): the same figures."""
        return service.departments(args["start"], args["end"], statistics_scope(current_user()))


@blp.route("/matters")
class Matters(MethodView):
    @require(*ROLES)
    @blp.arguments(MatterArgs, location="query")
    @blp.response(200, MatterReportSchema)
    def get(self, args):
        """Per matter (the whole catalog, or one department's or kind's; a department's supervisor: their
        departments' matters): the same figures, with name and kind."""
        scope = statistics_scope(current_user(), args["department"])
        return service.matters(args["start"], args["end"], args["department"], args["kind"], only=scope)


@blp.route("/summary")
class Summary(MethodView):
    @require(*ROLES)
    @blp.arguments(StatisticsArgs, location="query")
    @blp.response(200, SummarySchema)
    def get(self, args):
        """The whole center (a department's supervisor: their departments) over the period, by kind of matter, and
        the green channel."""
        return service.summary(args["start"], args["end"], statistics_scope(current_user()))


@blp.route("/matters/<code>/versions")
class MatterVersions(MethodView):
    @require(*ROLES)
    @blp.arguments(VersionArgs, location="query")
    @blp.response(200, VersionComparisonSchema)
    def get(self, args, code):
        """A matter's cases per process version, and the speed-up of one version over another (goal: 30%). A
        department's supervisor: a matter of their departments (another's: 403)."""
        return service.versions(code, args["start"], args["end"], args["base"], args["compare"],
                                only=statistics_scope(current_user()))


@blp.route("/clerks")
class Clerks(MethodView):
    @require(*CLERK_ROLES)
    @blp.arguments(ClerkArgs, location="query")
    @blp.response(200, ClerkReportSchema)
    def get(self, args):
        """Per clerk: received, accepted, steps completed, and their cases' on-time rate and working days.

        A department's supervisor sees their departments' cases and people; 中心督查 and admin the whole center
        (`department` narrows it). Other roles: 403.
        """
        user = current_user()
        return service.clerks(args["start"], args["end"], clerk_departments(user, args["department"]))


@blp.route("/speed-up")
class SpeedUp(MethodView):
    @require(*ROLES)
    @blp.arguments(SpeedUpArgs, location="query")
    @blp.response(200, SpeedUpReportSchema)
    def get(self, args):
        """The speed-up (提速) across matter-record versions: per matter whose record changed, and for the center.

        * Cases: those received (收件, Asia/Shanghai) in the period `from`–`to` (open where left out); each counts
          under the matter-record version it was received under (set at intake; a case from before versions were
          kept: the version in force on its receipt date).
        * Actual days: the decision's clock only — the working days from acceptance (受理) to the decision (决定) of
          the cases decided (`working_days_used`); not the delivery (送达), nor cases open, withdrawn, cancelled,
          ended for want of a supplement or not accepted.
        * Per matter: the record's versions in force by `to` (default today), grouped into eras of one promised
          limit. `before` is the era in force on `from` (without `from`: the first version's), `after` the era in
          force on `to`. The limit changed when their promised limits differ. Promised speed-up = (before − after)
          / before of the promised limits (working days); actual speed-up = the same of the two eras' average
          decision working days (null when either has no decided case in the period, or before averages 0).
        * The center (the departments in the caller's scope, or `department`): over the matters whose limit
          changed, the sum of their promised limits before against the sum after; and the case-weighted average
          decision working days before against after, over the matters with decided cases in both eras
          (`matters_compared`).
        * The goal (TONGBAN_SPEED_UP_GOAL, 30%) is met on the limits (`promised_goal_met`) and on the actual days
          (`actual_goal_met`) when the speed-up is at least the goal; `goal_met` is both (null while either is
          unknown).
        * A new process version without a change of the record: GET /statistics/matters/{code}/versions.

        A department's supervisor counts only their departments (another department asked for: 403); 中心督查, ops
        and admin the whole center.
        """
        scope = statistics_scope(current_user(), args["department"])
        return service.speed_up(args["start"], args["end"], args["department"], only=scope)
