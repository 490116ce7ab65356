"""The sweep leaves a green step alone until it could possibly turn yellow."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.hall.supervision.service import Settings, watch_from


def test_watch_from_is_the_earlier_of_the_ratio_window_and_a_holiday_proof_lookahead():
    created = datetime(2026, 11, 2, 1, tzinfo=UTC)
    s = Settings(yellow_days=1, yellow_ratio=0.2)
    short = created + timedelta(days=3)
    assert watch_from(created, short, s) == short - timedelta(days=24)  # before creation: watched at once
    long = created + timedelta(days=200)
    assert watch_from(created, long, s) == long - timedelta(days=40)  # the last 20% of its span
    assert watch_from(created, None, s) is None
