"""Timers falling due together (`tools/bench timers --timers N`): N cases wait on a timer due at one second; K server
processes drain them as their schedulers do (a pass at each 0.5 s tick while none runs). Prints the drain time (the
last firing after the due second), the firings' lateness (p50, p99), and checks that each timer fired exactly once
(one `timer.fired` audit entry each). With `--over S` the N timers fall due one after another over S seconds
instead (target: p99 lateness ≤ 1 s).

On PostgreSQL the timer and case tables are created with autovacuum off and never analyzed: the pick runs on
stale statistics, as right after a bulk of new timers in production.
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DIAGRAM = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="defs" targetNamespace="http://tongban.example/bench">
  <bpmn:process id="bench_timer" name="定时基准" isExecutable="true">
    <bpmn:laneSet id="lanes"><bpmn:lane id="lane" name="基准岗">
      <bpmn:flowNodeRef>start</bpmn:flowNodeRef><bpmn:flowNodeRef>due</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>work</bpmn:flowNodeRef><bpmn:flowNodeRef>end</bpmn:flowNodeRef>
    </bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="due"/>
    <bpmn:intermediateCatchEvent id="due" name="到点">
      <bpmn:timerEventDefinition id="t"><bpmn:timeDate xsi:type="bpmn:tFormalExpression">due</bpmn:timeDate>
      </bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="due" targetRef="work"/>
    <bpmn:userTask id="work" name="办理"/>
    <bpmn:sequenceFlow id="f3" sourceRef="work" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>
"""

WORKER = """
import sys, time
sys.path.insert(0, {root!r})
from app import create_app
from app.extensions import db
from app.timers import service
from app.timers.models import Timer
app = create_app({{"SCHEDULER_ENABLED": False}})
with app.app_context():
    while time.time() < {start}:
        time.sleep(0.01)
    idle = 0
    while idle < 4:  # as the scheduler: a pass at each 0.5 s tick, a tick skipped while a pass runs
        began = time.time()
        service.drain_due()
        left = db.session.scalar(db.select(db.func.count()).select_from(Timer).where(Timer.state == "waiting"))
        db.session.rollback()
        idle = idle + 1 if left == 0 else 0
        time.sleep(0.5 - (time.time() - began) % 0.5)
"""


def _database(url: str | None) -> tuple[str, Callable[[], None]]:
    """A fresh database for the run and how to drop it."""
    if not url:
        folder = tempfile.mkdtemp(prefix="tongban-bench-timers-")
        return f"sqlite:///{folder}/bench.db", lambda: None
    from tools.throwaway_db import fresh_postgres

    return fresh_postgres(url, "tongban_bench_timers")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--timers", type=int, default=1000)
    parser.add_argument("--processes", type=int, default=3)
    parser.add_argument("--over", type=float, default=0.0, help="seconds over which the timers fall due, one "
                        "after another (default 0: all in one second)")
    parser.add_argument("--database-url", default=None, help="a PostgreSQL server URL; default: a SQLite file")
    args = parser.parse_args()
    os.environ.setdefault("TONGBAN_LOG_LEVEL", "WARNING")  # the cases' requests are not the measurement
    url, drop = _database(args.database_url)
    try:
        run(url, args.timers, args.processes, args.over)
    finally:
        drop()


def run(url: str, count: int, processes: int, over: float = 0.0) -> None:
    from tools.bench import prepare

    tokens = prepare(url)
    from app import create_app
    from app.audit.models import AuditEntry
    from app.extensions import db
    from app.timers.models import Timer

    app = create_app({"SCHEDULER_ENABLED": False})
    with app.app_context():
        if db.engine.dialect.name == "postgresql":  # stale statistics: nothing analyzes the new rows
            for table in ("timer", "process_instance", "user_task"):
                db.session.execute(db.text(f"ALTER TABLE {table} SET (autovacuum_enabled = false)"))
            db.session.commit()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {tokens['analyst']}"}
    creating = time.perf_counter()
    due = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=10 + count // 50)
    upload = client.post("/api/v1/process-definitions", headers=headers, content_type="multipart/form-data",
                         data={"file": [(io.BytesIO(DIAGRAM.encode()), "bench_timer.bpmn")],
                               "unknown_posts": "allow"})
    assert upload.status_code in (200, 201), upload.json
    clerk = {"Authorization": f"Bearer {tokens['clerk']}"}
    for n in range(count):
        at = due + timedelta(seconds=over * n / count)
        started = client.post("/api/v1/process-definitions/bench_timer/instances",
                              json={"data": {"due": at.isoformat()}}, headers=clerk)
        assert started.status_code == 201, started.json
    spread = f"falling due over {over:g} s from" if over else "due"
    print(f"{count} cases waiting on a timer {spread} {due.isoformat()} (made in "
          f"{time.perf_counter() - creating:.1f} s)")
    if datetime.now(UTC) >= due:
        sys.exit("the cases took longer to make than planned; run with fewer timers")
    env = {**os.environ, "DATABASE_URL": url, "TONGBAN_LOG_LEVEL": "WARNING"}
    workers = [subprocess.Popen([sys.executable, "-c", WORKER.format(root=str(ROOT), start=due.timestamp())],
                                env=env, cwd=ROOT) for _ in range(processes)]
    for worker in workers:
        worker.wait()
    with app.app_context():
        fired = db.session.execute(db.select(Timer.due_at, Timer.fired_at).where(Timer.state == "fired")).all()
        waiting = db.session.scalar(db.select(db.func.count()).select_from(Timer).where(Timer.state == "waiting"))
        audits = db.session.execute(db.select(AuditEntry.instance_id, db.func.count()).where(
            AuditEntry.action == "timer.fired").group_by(AuditEntry.instance_id)).all()
    lateness = sorted((f - d).total_seconds() for d, f in fired)
    once = sum(1 for _, n in audits if n == 1)
    p = lambda q: lateness[min(len(lateness) - 1, int(q * len(lateness)))] if lateness else float("nan")  # noqa: E731
    drain = max(lateness) if lateness else float("nan")
    print(f"fired {len(fired)} of {count} ({waiting} still waiting) with {processes} processes on "
          f"{url.split(':', 1)[0]}")
    if over:
        print(f"lateness p50 {p(0.5):.2f} s, p99 {p(0.99):.2f} s (target ≤ 1 s), max {drain:.2f} s")
    else:
        print(f"drained in {drain:.2f} s after the due second (target ≤ 5 s); lateness p50 {p(0.5):.2f} s, "
              f"p99 {p(0.99):.2f} s")
    print(f"fired exactly once: {once} of {count} cases (one timer.fired audit entry each)")


if __name__ == "__main__":
    main()
