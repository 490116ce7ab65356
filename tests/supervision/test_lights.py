"""The light rules on their own: working days left against the limit; a step's deadline against its span."""

from __future__ import annotations

from datetime import date

import pytest

from app.calendar.workdays import WorkdayCalendar
from app.hall.supervision.service import Settings, case_light, step_light, yellow_threshold
from tests.supervision.conftest import shanghai

CAL = WorkdayCalendar()
DEFAULT = Settings(yellow_days=1, yellow_ratio=0.2)


@pytest.mark.parametrize(("promised", "threshold"), [(0, -1), (1, 0), (2, 1), (5, 1), (10, 2), (20, 4), (30, 6)])
def test_yellow_threshold_is_one_day_or_a_fifth_of_the_limit_but_never_the_whole_limit(promised, threshold):
    assert yellow_threshold(promised, DEFAULT) == threshold


def test_yellow_threshold_follows_the_settings():
    assert yellow_threshold(10, Settings(yellow_days=3, yellow_ratio=0.2)) == 3
    assert yellow_threshold(10, Settings(yellow_days=1, yellow_ratio=0.5)) == 5


def test_case_light_counts_working_days_left():
    due = date(2026, 12, 4)  # a Friday; five days from Friday 11-27
    assert case_light(date(2026, 11, 27), due, 5, CAL, DEFAULT) == "green"
    assert case_light(date(2026, 12, 2), due, 5, CAL, DEFAULT) == "green"
    assert case_light(date(2026, 12, 3), due, 5, CAL, DEFAULT) == "yellow"
    assert case_light(due, due, 5, CAL, DEFAULT) == "yellow"
    assert case_light(date(2026, 12, 5), due, 5, CAL, DEFAULT) == "red"
    # an on-the-spot matter (0 days) is green on its day and red after it, never yellow
    assert case_light(date(2026, 11, 27), date(2026, 11, 27), 0, CAL, DEFAULT) == "green"
    assert case_light(date(2026, 11, 28), date(2026, 11, 27), 0, CAL, DEFAULT) == "red"


def test_step_light_from_its_deadline():
    created = shanghai(2026, 11, 27)  # Friday 09:00, a P3D deadline: Monday 09:00
    due = shanghai(2026, 11, 30)
    assert step_light(shanghai(2026, 11, 28), created, due, CAL, DEFAULT) == "green"
    assert step_light(shanghai(2026, 11, 29, 18, 30), created, due, CAL, DEFAULT) == "green"
    assert step_light(shanghai(2026, 11, 29, 18, 40), created, due, CAL, DEFAULT) == "yellow"  # last 20% (14.4 h)
    assert step_light(due, created, due, CAL, DEFAULT) == "red"
    # a P3D step from Monday: Wednesday is its last working day before Thursday 09:00
    monday, thursday = shanghai(2026, 11, 30), shanghai(2026, 12, 3)
    assert step_light(shanghai(2026, 12, 1, 17), monday, thursday, CAL, DEFAULT) == "green"
    assert step_light(shanghai(2026, 12, 2, 9), monday, thursday, CAL, DEFAULT) == "yellow"
    # an hour's deadline: yellow only in its last 12 minutes
    start, end = shanghai(2026, 11, 27, 9), shanghai(2026, 11, 27, 10)
    assert step_light(shanghai(2026, 11, 27, 9, 47), start, end, CAL, DEFAULT) == "green"
    assert step_light(shanghai(2026, 11, 27, 9, 49), start, end, CAL, DEFAULT) == "yellow"


def test_green_channel_limit(app):
    from app.hall.supervision.clock import green_channel_days

    with app.app_context():
        assert [green_channel_days(d) for d in (0, 1, 2, 3, 5, 10, 30)] == [0, 1, 1, 1, 2, 5, 15]
        app.config["GREEN_CHANNEL_RATIO"] = 0.7
        try:
            assert green_channel_days(10) == 7
        finally:
            app.config["GREEN_CHANNEL_RATIO"] = 0.5
