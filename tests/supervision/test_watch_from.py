"""The sweep looks at a step or a case only when its light can change: the moment a step turns yellow, the date a
case does, computed once and exact (so a sweep with nothing due reads nothing)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from app.calendar.workdays import WorkdayCalendar
from app.hall.supervision.service import (
    Settings,
    case_light,
    case_look_on,
    local_midnight,
    step_light,
    turns_on,
    watch_from,
)

S = Settings(yellow_days=1, yellow_ratio=0.2)


@pytest.fixture(scope="module")
def cal() -> WorkdayCalendar:
    return WorkdayCalendar()


def test_turns_on_counts_working_days_back_over_weekends_and_holidays(cal):
    # 2026-10-09 is a Friday after the National Day week; counting back skips the holiday
    assert turns_on(date(2026, 10, 9), 0, cal) == date(2026, 10, 9)
    assert cal.working_days_between(turns_on(date(2026, 10, 12), 1, cal), date(2026, 10, 12)) == 1
    day = turns_on(date(2026, 10, 12), 1, cal)
    assert cal.working_days_between(day - timedelta(days=1), date(2026, 10, 12)) == 2  # the day before: too early
    assert turns_on(date(2026, 10, 9), -1, cal) is None


@pytest.mark.parametrize("span_hours", [3, 20, 50, 24 * 9, 24 * 40, 24 * 200])
@pytest.mark.parametrize("created_day", [date(2026, 9, 28), date(2026, 11, 6), date(2027, 1, 29)])
def test_a_steps_watch_is_the_exact_moment_step_light_turns_yellow(cal, span_hours, created_day):
    created = local_midnight(created_day) + timedelta(hours=9, minutes=30)
    due = created + timedelta(hours=span_hours)
    watch = watch_from(created, due, cal, S)
    assert created < watch <= due or watch <= created  # a very short step may start yellow
    # a quarter of an hour either side of the watch moment the light differs; at every hour before it, green
    at = created
    while at < watch - timedelta(minutes=15):
        assert step_light(at, created, due, cal, S) == "green", at
        at += timedelta(hours=1)
    if watch > created:
        assert step_light(watch - timedelta(seconds=1), created, due, cal, S) == "green"
    assert step_light(max(watch, created), created, due, cal, S) in ("yellow", "red")
    assert watch_from(created, None, cal, S) is None


@pytest.mark.parametrize("promised", [1, 2, 5, 20, 60])
@pytest.mark.parametrize("due", [date(2026, 10, 9), date(2026, 12, 31), date(2027, 2, 22)])
def test_a_cases_look_on_is_the_first_date_its_light_differs(cal, promised, due):
    today = due - timedelta(days=90)
    light = case_light(today, due, promised, cal, S)
    while light != "red":
        look = case_look_on(light, due, promised, cal, S)
        for day in (today + timedelta(days=n) for n in range((look - today).days)):
            assert case_light(day, due, promised, cal, S) == light, day  # no change before it
        assert case_light(look, due, promised, cal, S) != light  # a change on it
        today, light = look, case_light(look, due, promised, cal, S)
    assert case_look_on("red", due, promised, cal, S) is None


def test_a_green_step_created_long_before_its_deadline_is_not_looked_at_until_its_last_fifth():
    created = datetime(2026, 11, 2, 1, tzinfo=UTC)
    due = created + timedelta(days=200)
    assert watch_from(created, due, WorkdayCalendar(), S) == due - timedelta(days=40)
