"""tools/serve --demo: a few weeks of the replay in the server's own database, once, so that a newcomer's board,
warnings and statistics show something real.

The last `--days` working days before today (15, or TONGBAN_DEMO_DAYS) receive `--per-day` cases each (30, or
TONGBAN_DEMO_CASES_PER_DAY) on the replay's clock, which stops at the present moment: older cases have ended,
recent ones are open at their steps, some late (yellow and red lights, warnings, escalations), a clerk may be on
leave. A database that already holds replayed cases (business keys REPLAY-…) is left as it is. The replay's tokens
are deleted afterwards; the demo people sign in with the demo password as always.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import sys
import time

from .truth import SHANGHAI


def seeded(app) -> int:
    from app.extensions import db
    from app.instances.models import ProcessInstance

    with app.app_context():
        found = db.session.scalar(db.select(db.func.count()).select_from(ProcessInstance).where(
            ProcessInstance.business_key.like("REPLAY-%")))
        db.session.remove()
    return found or 0


def recent_days(today: dt.date, count: int) -> list[dt.date]:
    from . import workdays

    days, day = [], today
    if workdays.is_workday(day):
        days.append(day)
    while len(days) < count + (1 if days else 0):
        day -= dt.timedelta(days=1)
        if workdays.is_workday(day):
            days.append(day)
    return sorted(days)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="tools/serve --demo", description="seed a few weeks of the replay, once")
    parser.add_argument("--days", type=int, default=int(os.environ.get("TONGBAN_DEMO_DAYS", "15")))
    parser.add_argument("--per-day", type=int, default=int(os.environ.get("TONGBAN_DEMO_CASES_PER_DAY", "30")))
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--database-url", default=None, help="default: the server's (DATABASE_URL, else instance/)")
    args = parser.parse_args(argv)

    from . import plan as plans
    from .driver import Api
    from .engine import Options, Replay
    from .hall import Hall, issue_tokens
    from .run import Clock, Jobs, make_app, revoke_tokens

    now = dt.datetime.now(dt.UTC)
    today = now.astimezone(SHANGHAI).date()
    days = recent_days(today, args.days)
    clock = Clock(dt.datetime.combine(days[0], dt.time(8, 0), SHANGHAI).astimezone(dt.UTC))
    app = make_app(args.database_url, clock)
    already = seeded(app)
    if already:
        print(f"demo: already seeded ({already} replayed cases); nothing to do", file=sys.stderr)
        return 0
    from app.extensions import db

    with app.app_context():
        hall = Hall(issue_tokens("replay", lasting=True))
        db.session.commit()
        db.session.remove()
    # livelier than the trial (whose on-time rate was near 100%): a newcomer should see red lights and late steps
    rates = dataclasses.replace(plans.Rates(), late=0.08, special_overrun=0.12, late_delivery=0.02, extended=0.03)
    plan = plans.make(cases=args.per_day * len(days), days=days, seed=args.seed, rates=rates)
    print(f"demo: replaying {len(plan.cases)} cases over the {len(days)} working days {days[0]} – {days[-1]} up to "
          f"now (takes a minute or two)…", file=sys.stderr)
    begun = time.monotonic()
    try:
        replay = Replay(plan, Api(hall, client=app.test_client()), Jobs(app), clock,
                        Options(drain=False, stop_at=now, progress=sys.stderr.isatty())).run()
    finally:
        revoke_tokens(app)
        app.config["CLOCK"] = None
    cases = [c for c in replay.cases.values() if c.id is not None]
    open_ = [c for c in cases if not c.done]
    warnings = sum(len(c.truth.warnings) for c in cases)
    print(f"demo: {len(cases)} cases in {time.monotonic() - begun:.0f} s — {len(cases) - len(open_)} ended, "
          f"{len(open_)} open, {warnings} warnings raised, {replay.counters.escalations_found} escalations, "
          f"{replay.counters.absences} absences; {len(replay.errors)} unexpected answers", file=sys.stderr)
    print("demo: sign in as yanliqun (中心督查) or a department's supervisor with the demo password to see the board",
          file=sys.stderr)
    return 0
