"""/api/v1/calendar: working-day arithmetic, the year listing, and the administrators' entries."""

from __future__ import annotations

import datetime as dt

from app.audit.models import AuditEntry
from app.caches import bump_generation
from app.calendar import service as calendar_service
from app.calendar.models import CalendarDay
from app.extensions import db


def _add(client, people, start, days, user="clerk"):
    return client.get("/api/v1/calendar/add-working-days", query_string={"from": start, "days": days},
                      headers=people.auth(user))


def _year(client, people, year):
    response = client.get(f"/api/v1/calendar/years/{year}", headers=people.auth("clerk"))
    assert response.status_code == 200, response.json
    return response.json


def _put(client, people, day, kind, name=None, user="admin"):
    return client.put(f"/api/v1/calendar/days/{day}", json={"kind": kind, "name": name}, headers=people.auth(user))


def test_2026_has_248_working_days_and_10_10_is_a_working_saturday(client, people):
    year = _year(client, people, 2026)
    assert year["working_days"] == 248
    assert year["source"] == "chinese_calendar" and year["provisional"] is False and year["note"] is None
    days = {d["date"]: d for d in year["days"]}
    assert days["2026-10-10"] == {"date": "2026-10-10", "kind": "workday", "name": "国庆节",
                                  "source": "chinese_calendar", "weekday": 6}
    assert days["2026-10-01"]["kind"] == "holiday" and days["2026-10-07"]["kind"] == "holiday"
    assert days["2026-09-20"]["kind"] == "workday"


def test_add_working_days_across_national_day(client, people):
    response = _add(client, people, "2026-09-25", 5)
    assert response.status_code == 200, response.json
    assert response.json == {"date": "2026-10-09", "from": "2026-09-25", "days": 5, "provisional": False,
                             "fallback_years": [], "note": None}
    assert _add(client, people, "2026-09-25", 6).json["date"] == "2026-10-10"  # the working Saturday
    assert _add(client, people, "2026-10-03", 0).json["date"] == "2026-10-08"  # day 0: the next working day


def test_twenty_working_days_from_2026_12_20_fall_back_for_2027(client, people):
    response = _add(client, people, "2026-12-20", 20)
    assert response.status_code == 200, response.json
    body = response.json
    # 9 working days left in 2026 (Dec 21-25, 28-31); 2027-01-01 is 元旦 by the fallback rule.
    assert body["date"] == "2027-01-18"
    assert body["provisional"] is True and body["fallback_years"] == [2027]
    assert "2027年" in body["note"] and "暂定" in body["note"]
    far = _add(client, people, "2030-06-01", 300).json  # years nobody has entered: never an error
    assert far["provisional"] is True and far["fallback_years"] == [2030, 2031]


def test_malformed_input_is_422(app, client, people):
    for query in ({"from": "2026-13-01", "days": 3}, {"from": "20261010", "days": 3}, {"from": "明天", "days": 1},
                  {"from": "2026-10-10", "days": -1}, {"from": "2026-10-10", "days": "五"}, {"days": 3},
                  {"from": "2026-10-10"}):
        response = client.get("/api/v1/calendar/add-working-days", query_string=query, headers=people.auth("clerk"))
        assert response.status_code == 422, query
        assert response.json["code"] == "invalid"
    assert client.get("/api/v1/calendar/years/26", headers=people.auth("clerk")).status_code == 422
    assert client.get("/api/v1/calendar/years/3000", headers=people.auth("clerk")).status_code == 422
    for bad in ("2026-02-30", "2026-1-5", "20261010", "yesterday"):
        response = _put(client, people, bad, "holiday")
        assert response.status_code == 422 and "YYYY-MM-DD" in response.json["message"], bad
    assert _put(client, people, "2027-02-08", "vacation").status_code == 422
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(CalendarDay)) == 0


def test_put_same_kind_is_idempotent_and_another_kind_is_409(app, client, people):
    first = _put(client, people, "2027-02-08", "holiday", "春节")
    assert first.status_code == 201, first.json
    assert first.json["kind"] == "holiday" and first.json["name"] == "春节" and first.json["updated_by"] == "admin"
    again = _put(client, people, "2027-02-08", "holiday")
    assert again.status_code == 200 and again.json["name"] == "春节"

    conflict = _put(client, people, "2027-02-08", "workday", "调休上班")
    assert conflict.status_code == 409 and conflict.json["code"] == "conflict"
    assert "先删除" in conflict.json["message"] and conflict.json["details"]["kind"] == "holiday"
    row = client.get("/api/v1/calendar/days/2027-02-08", headers=people.auth("clerk")).json
    assert row["kind"] == "holiday" and row["name"] == "春节"

    assert client.delete("/api/v1/calendar/days/2027-02-08", headers=people.auth("admin")).status_code == 204
    assert client.get("/api/v1/calendar/days/2027-02-08", headers=people.auth("clerk")).status_code == 404
    assert client.delete("/api/v1/calendar/days/2027-02-08", headers=people.auth("admin")).status_code == 404
    assert _put(client, people, "2027-02-08", "workday", "调休上班").status_code == 201

    with app.app_context():
        actions = list(db.session.scalars(db.select(AuditEntry.action).order_by(AuditEntry.id)))
    assert actions == ["calendar.day_set", "calendar.day_deleted", "calendar.day_set"]


def test_only_admins_enter_days(client, people):
    for user in ("clerk", "boss", "analyst", "ops"):
        response = _put(client, people, "2026-10-12", "holiday", "加休", user=user)
        assert response.status_code == 403, user
    _put(client, people, "2026-10-12", "holiday", "加休")
    assert client.delete("/api/v1/calendar/days/2026-10-12", headers=people.auth("boss")).status_code == 403
    assert client.put("/api/v1/calendar/years/2027", json={"complete": True},
                      headers=people.auth("boss")).status_code == 403
    assert client.get("/api/v1/calendar/days/2026-10-12", headers=people.auth("clerk")).json["kind"] == "holiday"
    assert client.put("/api/v1/calendar/days/2026-10-12", json={"kind": "holiday"}).status_code == 401


def test_an_entry_overrides_chinese_calendar_and_changes_the_answers(client, people):
    assert _add(client, people, "2026-10-10", 1).json["date"] == "2026-10-12"
    _put(client, people, "2026-10-12", "holiday", "临时休假")
    assert _add(client, people, "2026-10-10", 1).json["date"] == "2026-10-13"
    year = _year(client, people, 2026)
    assert year["working_days"] == 247
    day = next(d for d in year["days"] if d["date"] == "2026-10-12")
    assert day == {"date": "2026-10-12", "kind": "holiday", "name": "临时休假", "source": "override", "weekday": 1}


def test_a_fully_entered_year_is_no_longer_provisional(client, people):
    listing = _year(client, people, 2027)
    assert listing["source"] == "fallback" and listing["provisional"] is True and "2027年" in listing["note"]
    assert {d["source"] for d in listing["days"]} == {"fallback"}

    for day, kind, name in (("2027-01-01", "holiday", "元旦"), ("2027-01-04", "holiday", "元旦")):
        _put(client, people, day, kind, name)
    marked = client.put("/api/v1/calendar/years/2027", json={"complete": True}, headers=people.auth("admin"))
    assert marked.status_code == 200, marked.json
    assert marked.json["complete"] is True and marked.json["provisional"] is False
    assert [d["date"] for d in marked.json["days"]] == ["2027-01-01", "2027-01-04"]
    answer = _add(client, people, "2026-12-31", 1).json
    assert answer == {"date": "2027-01-05", "from": "2026-12-31", "days": 1, "provisional": False,
                      "fallback_years": [], "note": None}

    refused = client.put("/api/v1/calendar/years/2026", json={"complete": True}, headers=people.auth("admin"))
    assert refused.status_code == 422


def test_workday_calendar_is_cached_until_the_table_changes(in_app, app, client, people):
    first = in_app(calendar_service.workday_calendar)
    assert in_app(calendar_service.workday_calendar) is first
    _put(client, people, "2028-01-03", "holiday", "补休")
    second = in_app(calendar_service.workday_calendar)
    assert second is not first and not second.is_workday(dt.date(2028, 1, 3))
    assert in_app(calendar_service.workday_calendar) is second  # a step does not read the tables again
    # a change written by another server process (here: straight to the table, with the shared generation its
    # service bumps in the same transaction) is seen too, though this process's cache was not told
    with app.app_context():
        db.session.add(CalendarDay(date=dt.date(2028, 1, 4), kind="holiday", name="补休",
                                   updated_at=dt.datetime.now(dt.UTC)))
        bump_generation(calendar_service.GENERATION)
        db.session.commit()
    assert not in_app(calendar_service.workday_calendar).is_workday(dt.date(2028, 1, 4))
