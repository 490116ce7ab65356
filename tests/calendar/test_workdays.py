"""Tests for the working-day calendar (app.calendar.workdays)."""

from __future__ import annotations

import datetime as dt
import time

import chinese_calendar
import pytest

from app.calendar.workdays import (
    DayInfo,
    WorkdayCalendar,
    WorkdayResult,
    fallback_holidays,
)

D = dt.date


def days_of(year: int) -> list[dt.date]:
    first = D(year, 1, 1)
    return [
        first + dt.timedelta(days=i) for i in range((D(year + 1, 1, 1) - first).days)
    ]


@pytest.fixture(scope="module")
def cal() -> WorkdayCalendar:
    return WorkdayCalendar()


# -- check values -------------------------------------------------------------


def test_2026_has_248_working_days(cal):
    assert sum(cal.is_workday(d) for d in days_of(2026)) == 248
    assert cal.working_days_between(D(2025, 12, 31), D(2026, 12, 31)) == 248


def test_2026_10_10_saturday_is_a_working_day(cal):
    d = D(2026, 10, 10)
    assert d.weekday() == 5
    info = cal.day(d)
    assert info == DayInfo(d, True, "国庆节", "chinese_calendar")


def test_2026_national_day_is_oct_1_to_7(cal):
    # chinese_calendar 1.11.0: 2026-10-01..07 off, 2026-09-20 (Sun) and 10-10 (Sat) on.
    for day in range(1, 8):
        d = D(2026, 10, day)
        assert chinese_calendar.is_holiday(d)
        info = cal.day(d)
        assert not info.workday
        assert info.name == "国庆节"
        assert info.source == "chinese_calendar"
    assert cal.is_workday(D(2026, 9, 20))
    assert cal.is_workday(D(2026, 10, 8))


def test_agrees_with_chinese_calendar_2004_to_2026(cal):
    for year in (2004, 2015, 2020, 2024, 2025, 2026):
        for d in days_of(year):
            assert cal.is_workday(d) == chinese_calendar.is_workday(d), d


def test_ordinary_days(cal):
    assert cal.day(D(2026, 3, 10)) == DayInfo(
        D(2026, 3, 10), True, None, "chinese_calendar"
    )
    assert cal.day(D(2026, 3, 14)) == DayInfo(
        D(2026, 3, 14), False, None, "chinese_calendar"
    )
    assert cal.day(D(2027, 3, 10)) == DayInfo(D(2027, 3, 10), True, None, "fallback")


# -- add_working_days ------------------------------------------------------------


def test_20_days_across_into_2027_uses_fallback(cal):
    # 2026-12-20 is a Sunday: Dec 21-25, 28-31 (9), 2027-01-01 元旦 off,
    # Jan 4-8 (14), Jan 11-15 (19), Jan 18 (20).
    result = cal.add_working_days(D(2026, 12, 20), 20)
    assert result == WorkdayResult(D(2027, 1, 18), (2027,))
    assert result.provisional
    assert not cal.is_workday(D(2027, 1, 1))
    assert cal.day(D(2027, 1, 1)).source == "fallback"


def test_override_holiday_in_2027_moves_result():
    cal = WorkdayCalendar({D(2027, 1, 4): ("holiday", "元旦调整")})
    assert cal.add_working_days(D(2026, 12, 20), 20).date == D(2027, 1, 19)
    info = cal.day(D(2027, 1, 4))
    assert info == DayInfo(D(2027, 1, 4), False, "元旦调整", "override")


def test_override_saturday_workday_counts():
    saturday = D(2026, 3, 14)
    assert saturday.weekday() == 5
    plain = WorkdayCalendar()
    cal = WorkdayCalendar({saturday: ("workday", None)})
    assert not plain.is_workday(saturday)
    assert cal.is_workday(saturday)
    # Friday 2026-03-13 + 1: Monday without the override, the Saturday with it.
    assert plain.add_working_days(D(2026, 3, 13), 1).date == D(2026, 3, 16)
    assert cal.add_working_days(D(2026, 3, 13), 1).date == saturday
    assert cal.working_days_between(D(2026, 3, 13), D(2026, 3, 16)) == 2
    assert plain.working_days_between(D(2026, 3, 13), D(2026, 3, 16)) == 1


def test_override_beats_chinese_calendar():
    cal = WorkdayCalendar({D(2026, 10, 10): ("holiday", "调整")})
    assert not cal.is_workday(D(2026, 10, 10))
    assert cal.day(D(2026, 10, 10)).source == "override"


def test_crossing_2025_into_2026(cal):
    # 2025-12-31 Wed; 2026-01-01..03 off (元旦), Jan 4 (Sun) is a working day.
    assert cal.add_working_days(D(2025, 12, 30), 1) == WorkdayResult(D(2025, 12, 31))
    assert cal.add_working_days(D(2025, 12, 31), 1) == WorkdayResult(D(2026, 1, 4))
    assert cal.add_working_days(D(2025, 12, 31), 2) == WorkdayResult(D(2026, 1, 5))
    assert cal.working_days_between(D(2025, 12, 29), D(2026, 1, 5)) == 4


def test_weekend_before_national_day(cal):
    # 2026-09-25 (Fri) 中秋 off; Sep 26-27 weekend; Sep 28-30 on; Oct 1-7 off;
    # Oct 8-10 on (Oct 10 a Saturday).
    assert cal.add_working_days(D(2026, 9, 24), 1).date == D(2026, 9, 28)
    assert cal.add_working_days(D(2026, 9, 29), 1).date == D(2026, 9, 30)
    assert cal.add_working_days(D(2026, 9, 30), 1).date == D(2026, 10, 8)
    assert cal.add_working_days(D(2026, 9, 30), 3).date == D(2026, 10, 10)
    assert cal.add_working_days(D(2026, 9, 30), 4).date == D(2026, 10, 12)
    assert cal.working_days_between(D(2026, 9, 30), D(2026, 10, 7)) == 0


def test_zero_days(cal):
    assert cal.add_working_days(D(2026, 3, 10), 0).date == D(2026, 3, 10)
    assert cal.add_working_days(D(2026, 3, 14), 0).date == D(2026, 3, 16)
    assert cal.add_working_days(D(2026, 10, 1), 0).date == D(2026, 10, 8)
    assert cal.add_working_days(D(2026, 12, 31), 0) == WorkdayResult(D(2026, 12, 31))
    assert cal.add_working_days(D(2027, 1, 1), 0) == WorkdayResult(
        D(2027, 1, 4), (2027,)
    )


def test_negative_days_rejected(cal):
    with pytest.raises(ValueError):
        cal.add_working_days(D(2026, 3, 10), -1)


def test_fallback_years_only_when_used(cal):
    assert cal.add_working_days(D(2026, 3, 1), 20).fallback_years == ()
    assert cal.add_working_days(D(2026, 12, 30), 1).fallback_years == ()
    assert cal.add_working_days(D(2026, 12, 31), 1).fallback_years == (2027,)
    assert cal.add_working_days(D(2027, 12, 20), 20).fallback_years == (2027, 2028)


def test_never_raises_not_implemented_outside_chinese_calendar(cal):
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(D(2027, 1, 4))
    for d in (D(2003, 6, 2), D(2030, 1, 1), D(2099, 12, 31), D(2150, 1, 1)):
        cal.day(d)
        cal.add_working_days(d, 30)
    assert cal.add_working_days(D(2003, 12, 25), 10).fallback_years == (2003,)


def test_large_n_is_fast_and_consistent():
    cal = WorkdayCalendar()
    t0 = time.perf_counter()
    result = cal.add_working_days(D(2026, 1, 1), 5000)
    for i in range(1000):
        cal.add_working_days(D(2026, 1, 1) + dt.timedelta(days=i % 365), 20)
    assert time.perf_counter() - t0 < 2.0
    assert cal.working_days_between(D(2026, 1, 1), result.date) == 5000
    assert result.fallback_years == tuple(range(2027, result.date.year + 1))


def test_add_and_between_are_consistent_over_2026():
    cal = WorkdayCalendar(
        {D(2026, 11, 7): ("workday", None), D(2026, 11, 9): ("holiday", "x")}
    )
    start = D(2025, 12, 1)
    for offset in range(400):
        s = start + dt.timedelta(days=offset)
        for n in (0, 1, 2, 5, 20, 30, 45):
            r = cal.add_working_days(s, n).date
            assert cal.is_workday(r)
            if n == 0:
                assert r >= s
                assert cal.working_days_between(s - dt.timedelta(days=1), r) == 1
            else:
                assert r > s
                assert cal.working_days_between(s, r) == n
                assert cal.working_days_between(s, r - dt.timedelta(days=1)) == n - 1


def test_working_days_between_edges(cal):
    assert cal.working_days_between(D(2026, 3, 10), D(2026, 3, 10)) == 0
    assert cal.working_days_between(D(2026, 3, 10), D(2026, 3, 1)) == 0
    assert cal.working_days_between(D(2026, 3, 9), D(2026, 3, 10)) == 1


def test_datetime_accepted(cal):
    assert cal.is_workday(dt.datetime(2026, 10, 10, 9, 30))
    r = cal.add_working_days(dt.datetime(2026, 9, 30, 16, 0), 1)
    assert r.date == D(2026, 10, 8)


# -- complete years and listings --------------------------------------------------


def test_complete_year_uses_only_overrides():
    overrides = {
        D(2027, 1, 1): ("holiday", "元旦"),
        D(2027, 2, 20): ("workday", "春节"),  # a Saturday
    }
    cal = WorkdayCalendar(overrides, complete_years=[2027])
    assert cal.year_source(2027) == "override"
    assert not cal.is_workday(D(2027, 1, 1))
    assert cal.is_workday(D(2027, 2, 20))
    # 2027-02-08 (初三 by the fallback rule) is an ordinary Monday in the entered year.
    assert cal.day(D(2027, 2, 8)) == DayInfo(D(2027, 2, 8), True, None, "override")
    assert cal.add_working_days(D(2026, 12, 20), 20).fallback_years == ()
    assert cal.add_working_days(D(2027, 12, 30), 5).fallback_years == (2028,)


def test_year_days_listing(cal):
    days = cal.year_days(2026)
    assert days == sorted(days, key=lambda info: info.date)
    by_date = {info.date: info for info in days}
    # every non-ordinary day is listed
    for d in days_of(2026):
        if cal.is_workday(d) != (d.weekday() < 5):
            assert d in by_date
    assert by_date[D(2026, 10, 10)].workday
    assert all(not by_date[D(2026, 10, day)].workday for day in range(1, 8))
    assert by_date[D(2026, 1, 4)].workday  # a Sunday


def test_year_days_includes_overrides():
    cal = WorkdayCalendar({D(2026, 3, 11): ("holiday", "临时闭厅")})
    listed = [info for info in cal.year_days(2026) if info.date == D(2026, 3, 11)]
    assert listed == [DayInfo(D(2026, 3, 11), False, "临时闭厅", "override")]


def test_bad_override_kind():
    with pytest.raises(ValueError):
        WorkdayCalendar({D(2026, 3, 11): ("vacation", None)})


# -- fallback rule ----------------------------------------------------------------


def test_fallback_2027_holidays():
    h = fallback_holidays(2027)
    assert h[D(2027, 1, 1)] == "元旦"
    # 除夕 2027-02-05 (Fri), 初一-初三 Feb 6-8; Sat/Sun give 补假 on Feb 9 and 10.
    assert [d for d, name in h.items() if name == "春节"] == [
        D(2027, 2, day) for day in range(5, 11)
    ]
    assert h[D(2027, 4, 5)] == "清明"
    # 劳动节 May 1-2 fall on Sat/Sun: 补假 May 3-4.
    assert [d for d, name in h.items() if name == "劳动节"] == [
        D(2027, 5, day) for day in range(1, 5)
    ]
    assert h[D(2027, 6, 9)] == "端午"
    assert h[D(2027, 9, 15)] == "中秋"
    assert [d for d, name in h.items() if name == "国庆节"] == [
        D(2027, 10, day) for day in range(1, 6)
    ]


def test_fallback_has_no_weekend_workdays(cal):
    for d in days_of(2027):
        if d.weekday() >= 5:
            assert not cal.is_workday(d)


@pytest.mark.parametrize("year", [2025, 2026])
def test_fallback_rule_matches_published_totals(year):
    # Under the 2025 rules the published schedules have exactly as many working days
    # as weekdays minus the statutory holidays with 补假; the fallback must agree.
    holidays = fallback_holidays(year)
    fallback_total = sum(
        1 for d in days_of(year) if d.weekday() < 5 and d not in holidays
    )
    assert fallback_total == sum(chinese_calendar.is_workday(d) for d in days_of(year))


def test_fallback_spring_festival_eve_on_the_29th():
    # Lunar 2026 has no 30th of the 12th month (除夕 2027-02-05 is 腊月廿九).
    assert D(2027, 2, 5) in fallback_holidays(2027)
    # 2034: 春节 Feb 19; 除夕 Feb 18.
    h = fallback_holidays(2034)
    assert D(2034, 2, 18) in h and D(2034, 2, 19) in h
