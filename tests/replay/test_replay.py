"""The trial's replay on a few days runs in CI: ~50 cases over three working days from 2008-10-28, through the HTTP
API on the replay's clock, until every case has ended; what the API reports — each case, the statistics and every
supervision warning — equals the replay's own ledger (tools/replay/truth.py)."""

from __future__ import annotations

import dataclasses

import pytest

from tests.conftest import _empty_tables, close_app
from tools.replay import plan as plans
from tools.replay.compare import aggregation_differences
from tools.replay.report import write
from tools.replay.run import simulate


@pytest.fixture(scope="module")
def database_emptied(make_app, database):
    """The run's database, emptied before and after the module (the replay seeds the hall itself)."""
    app = make_app()

    def empty() -> None:
        with app.app_context():
            _empty_tables()

    empty()
    yield database
    empty()
    close_app(app)


def test_three_days_replayed_equal_the_ledger(database_emptied, tmp_path):
    rates = dataclasses.replace(plans.Rates(), supplement_refused=0.0, absences=1.0, dissent=1.0, withdrawn=0.05,
                                extended=0.08, special_overrun=0.2)
    plan = plans.make(cases=50, days=plans.trial_days(days=3), seed=11, rates=rates)
    kinds = plan.kinds()
    assert sum(kinds.values()) == 50 and {"immediate", "promised"} <= set(kinds)
    assert plan.absences, "a clerk is away on one of the days (AB岗)"

    outcome = simulate(plan, database_url=database_emptied)
    replay, comparison = outcome.replay, outcome.comparison
    started = [c for c in replay.cases.values() if c.id is not None]
    assert len(started) == 50
    assert replay.errors == [], replay.errors[:5]
    assert all(c.done for c in started), [c.plan.n for c in started if not c.done]
    assert replay.counters.absences == len(plan.absences)
    assert replay.counters.escalations_found == replay.counters.escalations_expected
    assert replay.notes == []
    assert comparison.checked["cases"] == 50 and comparison.checked["warnings"] > 0
    assert comparison.differences == [], comparison.differences[:10]
    summary = comparison.api["summary"]
    assert summary["received"] == 50 and summary["open"] == 0
    assert summary["completed"] + summary["withdrawn"] + summary["supplement_timeouts"] == 50

    report = write(outcome, tmp_path, "tools/simulate --days 3 --cases 50")
    text = report.read_text(encoding="utf-8")
    assert "**No difference**" in text and "**50 of 50 ended**" in text
    for chart in ("daily.png", "on_time_by_window.png", "working_days_by_kind.png"):
        assert (tmp_path / chart).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_refusal_after_a_supplement_counts_no_wait(database_emptied):
    rates = dataclasses.replace(plans.Rates(), not_accepted=0.0, supplement={"immediate": 1.0}, supplement_refused=1.0,
                                supplement_timeout=0.0, absences=0.0)
    immediate = [m for m in plans.catalog() if m["kind"] == "immediate"][:4]
    plan = plans.make(cases=4, days=plans.trial_days(plans.dt.date(2008, 11, 10), 1), seed=3, rates=rates,
                      matters=immediate)
    assert all(c.supplement_end == "refused" for c in plan.cases)
    outcome = simulate(plan, database_url=database_emptied)
    assert all(c.done for c in outcome.replay.cases.values())
    assert aggregation_differences(outcome.comparison, [c.truth for c in outcome.replay.cases.values()]) == 0
    assert outcome.comparison.differences == []


def test_a_supplement_timeout_gets_no_verdict(database_emptied):
    rates = dataclasses.replace(plans.Rates(), not_accepted=0.0, supplement={"immediate": 1.0}, supplement_refused=0.0,
                                supplement_timeout=1.0, timeout_days_left=0, absences=0.0)
    immediate = [m for m in plans.catalog() if m["kind"] == "immediate"][:2]
    plan = plans.make(cases=2, days=plans.trial_days(plans.dt.date(2008, 11, 20), 1), seed=5, rates=rates,
                      matters=immediate)
    assert all(c.supplement_end == "timeout" for c in plan.cases)
    outcome = simulate(plan, database_url=database_emptied)
    assert all(c.done and c.truth.outcome == "supplement_timeout" for c in outcome.replay.cases.values())
    assert outcome.comparison.differences == []
