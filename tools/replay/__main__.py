"""tools/simulate: `python -m tools.replay [options]` replays the trial and writes its report;
`python -m tools.replay demo` seeds a few weeks of it into the server's database (tools/serve --demo)."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shlex
import sys
from pathlib import Path

from .hall import ROOT


def _date(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["demo"]:
        from .demo import main as demo

        return demo(argv[1:])
    parser = argparse.ArgumentParser(prog="tools/simulate", description=(
        "Replay the center's trial (7,901 cases from 2008-10-28) through the HTTP API on a moved clock, check what "
        "the API reports against the replay's own ledger, and write REPORT.md with PNG charts."))
    parser.add_argument("--cases", type=int, default=None, help="cases to receive (default 7901, or 168 a day "
                                                                 "when --days is given)")
    parser.add_argument("--days", type=int, default=None, help="working days of intake from --start (default: to "
                                                               "2008-12-31, the trial's 47)")
    parser.add_argument("--start", type=_date, default=dt.date(2008, 10, 28))
    parser.add_argument("--seed", type=int, default=2008, help="the plan's random seed (a run can be repeated)")
    parser.add_argument("--database-url", default=None, help="postgresql://… (a fresh database is made beside it "
                                                             "and dropped after, unless --keep); default: a new "
                                                             "SQLite file")
    parser.add_argument("--keep", action="store_true", help="keep the database (its path or name is printed)")
    parser.add_argument("--serve", type=int, default=0, metavar="N",
                        help="serve the API from N gunicorn worker processes (their clock from a file the replay "
                             "moves) instead of in this process")
    parser.add_argument("--clients", type=int, default=4, help="with --serve: cases worked at once (threads)")
    parser.add_argument("--tick", type=int, default=30, help="minutes between ticks (default 30)")
    parser.add_argument("--report", type=Path, default=ROOT / "test-artifacts" / "replay",
                        help="folder for REPORT.md and the charts (default test-artifacts/replay)")
    parser.add_argument("--no-compare", action="store_true", help="skip the comparison with the API")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)

    from . import plan as plans
    from .engine import Options
    from .report import write
    from .run import fresh_database, simulate

    days = plans.trial_days(args.start, args.days)
    cases = args.cases if args.cases is not None else (plans.TRIAL_CASES if args.days is None else 168 * len(days))
    plan = plans.make(cases=cases, days=days, seed=args.seed)
    database_url, drop = args.database_url, None
    if database_url and database_url.startswith(("postgres://", "postgresql")):
        database_url, drop = fresh_database(database_url)
    workdir = None
    if database_url is None and args.keep:
        workdir = str(args.report)
    print(f"replay: {len(plan.cases)} cases over {len(days)} working days from {days[0]} "
          f"({'in process' if not args.serve else f'{args.serve} server processes'}, "
          f"{(database_url or 'sqlite').split(':')[0]})", file=sys.stderr)
    try:
        outcome = simulate(plan, database_url=database_url, serve=args.serve, clients=args.clients,
                           options=Options(tick_minutes=args.tick), compare_after=not args.no_compare,
                           progress=not args.quiet and sys.stderr.isatty(), workdir=workdir)
        command = "tools/simulate " + " ".join(shlex.quote(a) for a in argv)
        report = write(outcome, args.report, command.strip())
    finally:
        if drop is not None and not args.keep:
            drop()
    replay, comparison = outcome.replay, outcome.comparison
    cases_run = [c for c in replay.cases.values() if c.id is not None]
    ended = sum(1 for c in cases_run if c.done)
    print(f"replay: {ended}/{len(cases_run)} cases ended; {outcome.run_seconds:.1f} s "
          f"({len(cases_run) / max(outcome.run_seconds, 0.001):.2f} cases/s, {replay.api.requests} requests); "
          f"{'no difference' if comparison is not None and comparison.equal else f'{len(comparison.differences)} differences' if comparison else 'not compared'}"
          f"; unexpected answers: {len(replay.errors)}", file=sys.stderr)
    print(f"replay: report {report.relative_to(ROOT) if report.is_relative_to(ROOT) else report}", file=sys.stderr)
    if args.keep:
        print(f"replay: database kept: {outcome.database_url}", file=sys.stderr)
    if ended < len(cases_run) or replay.errors:
        return 1
    return 0 if comparison is None or comparison.equal else 2


if __name__ == "__main__":
    os.environ.setdefault("TONGBAN_LOG_FORMAT", "text")
    sys.exit(main())
