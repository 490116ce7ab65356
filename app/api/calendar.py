"""/api/v1/calendar: working days (工作日) for time limits, and the administrators' entries."""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import fields, validate

from ..calendar import service
from ..calendar.models import KINDS
from ..people.auth import current_user, require
from ..schemas import ApiSchema, IsoDate, LocalDateTime, QuerySchema
from .blueprint import Blueprint

blp = Blueprint("calendar", __name__, url_prefix="/api/v1/calendar",
                description="工作日历：法定节假日、调休与工作日计算")


class AddWorkingDaysArgs(QuerySchema):
    start = IsoDate(required=True, data_key="from", metadata={"description": "start date (acceptance), YYYY-MM-DD"})
    days = fields.Integer(required=True, validate=validate.Range(min=0, max=service.MAX_DAYS),
                          error_messages={"invalid": "工作日数应为整数"})


class AddWorkingDaysSchema(ApiSchema):
    date = fields.Date()
    start = fields.Date(data_key="from", attribute="from")
    days = fields.Integer()
    provisional = fields.Boolean(metadata={"description": "true when part of the answer rests on the fallback rule"})
    fallback_years = fields.List(fields.Integer())
    note = fields.String(allow_none=True)


class DayBodySchema(ApiSchema):
    kind = fields.String(required=True, validate=validate.OneOf(KINDS, error="类型应为 holiday（节假日）或 workday（工作日）"))
    name = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))


class DaySchema(ApiSchema):
    date = fields.Date()
    kind = fields.String()
    name = fields.String(allow_none=True)
    updated_by = fields.String(allow_none=True)
    updated_at = LocalDateTime()


class YearBodySchema(ApiSchema):
    complete = fields.Boolean(required=True)


class YearDaySchema(ApiSchema):
    date = fields.Date()
    kind = fields.String()
    name = fields.String(allow_none=True)
    source = fields.String(metadata={"description": "override | chinese_calendar | fallback"})
    weekday = fields.Integer(metadata={"description": "ISO weekday, 1 = Monday"})


class YearSchema(ApiSchema):
    year = fields.Integer()
    source = fields.String()
    complete = fields.Boolean()
    provisional = fields.Boolean()
    working_days = fields.Integer()
    note = fields.String(allow_none=True)
    days = fields.List(fields.Nested(YearDaySchema))


@blp.route("/add-working-days")
class AddWorkingDays(MethodView):
    @require()
    @blp.arguments(AddWorkingDaysArgs, location="query")
    @blp.response(200, AddWorkingDaysSchema)
    def get(self, args):
        """The N-th working day after a date; years not yet published fall back to the statutory rule."""
        return service.add_working_days(args["start"], args["days"])


@blp.route("/days/<day>")
class Day(MethodView):
    @require()
    @blp.response(200, DaySchema)
    def get(self, day):
        """An administrator's entry for one date (404 when there is none)."""
        return service.get_day_or_404(service.parse_date(day))

    @require("admin")
    @blp.arguments(DayBodySchema)
    @blp.response(200, DaySchema)
    @blp.alt_response(201, schema=DaySchema, description="entered")
    def put(self, body, day):
        """Enter a holiday or working day (admin). Same kind again: 200; another kind: 409 (DELETE first)."""
        row, created = service.set_day(service.parse_date(day), body["kind"], body.get("name"),
                                       current_user().username)
        return row, 201 if created else 200

    @require("admin")
    @blp.response(204)
    def delete(self, day):
        """Remove an entry (admin); the day then counts as chinesecalendar or the fallback rule says."""
        service.delete_day(service.parse_date(day), current_user().username)


@blp.route("/years/<year>")
class Year(MethodView):
    @require()
    @blp.response(200, YearSchema)
    def get(self, year):
        """A year's holidays and adjusted working days with their source, and its number of working days."""
        return service.year_listing(service.parse_year(year))

    @require("admin")
    @blp.arguments(YearBodySchema)
    @blp.response(200, YearSchema)
    def put(self, body, year):
        """Mark a year as fully entered (admin): its days then come from the entries only, not provisional."""
        return service.set_year_complete(service.parse_year(year), body["complete"], current_user().username)
