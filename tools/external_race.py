"""Camunda's own Python external-task client, 3 workers racing for N external tasks, each completed exactly once.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres python tools/external_race.py --tasks 1000

Creates a throwaway database beside the one named, migrates it, serves it with gunicorn (3 processes), deploys a
one-step diagram (a service task on topic `race-licence`), starts N cases and lets 3 workers
(`camunda-external-task-client-python3`'s ExternalTaskWorker, each in its own thread, long polling) race for
their tasks. It then checks in the database that every task was completed once — one completion in the audit
trail, its row completed, its case completed — and prints the figures. The database is dropped at the end.

The suite runs the same race with fewer tasks (tests/concurrency/test_external_race.py); this is the full run.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TOPIC = "race-licence"
KEY = "external_race"
DIAGRAM = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs_external_race" targetNamespace="http://tongban">
  <bpmn:process id="{KEY}" name="外部任务竞争" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="issue"/>
    <bpmn:serviceTask id="issue" name="签发证照" camunda:type="external" camunda:topic="{TOPIC}"/>
    <bpmn:sequenceFlow id="f2" sourceRef="issue" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


@dataclass
class Outcome:
    """What the workers saw: the tasks each one's handler ran, and the errors their loops met."""

    handled: dict[str, list[str]] = field(default_factory=dict)  # worker id -> task ids
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def duplicates(self) -> list[str]:
        seen = Counter(task for tasks in self.handled.values() for task in tasks)
        return [task for task, n in seen.items() if n > 1]


def deploy_and_start(base: str, analyst_token: str, starter_token: str, count: int, threads: int = 8) -> list[str]:
    """Deploy the race diagram and start `count` cases; their ids."""
    response = requests.post(f"{base}/api/v1/process-definitions", files={"file": ("race.bpmn", DIAGRAM.encode())},
                             headers={"Authorization": f"Bearer {analyst_token}"}, timeout=60)
    assert response.status_code in (200, 201), response.text

    def start(i: int) -> str:
        for _ in range(20):
            started = requests.post(f"{base}/api/v1/process-definitions/{KEY}/instances",
                                    json={"business_key": f"race-{i}", "data": {"n": i}},
                                    headers={"Authorization": f"Bearer {starter_token}"}, timeout=60)
            if started.status_code == 201:
                return started.json()["id"]
            time.sleep(0.2)  # a 409 busy under load: try again
        raise AssertionError(started.text)

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(start, range(count)))


def race(base: str, worker_token: str, count: int, workers: int = 3, seconds: float = 600) -> Outcome:
    """`workers` Camunda clients race for `count` tasks of TOPIC until all are handled (or `seconds` pass)."""
    from camunda.external_task.external_task_worker import ExternalTaskWorker, NoExternalTaskFound

    logging.getLogger("camunda").setLevel(logging.WARNING)
    outcome = Outcome()
    lock = threading.Lock()
    done = threading.Event()
    deadline = time.monotonic() + seconds

    def run(worker_id: str) -> None:
        config = {"auth_bearer": {"access_token": worker_token}, "maxTasks": 5, "lockDuration": 120_000,
                  "asyncResponseTimeout": 2000, "sleepSeconds": 0}
        worker = ExternalTaskWorker(worker_id=worker_id, base_url=f"{base}/engine-rest", config=config)
        mine = outcome.handled.setdefault(worker_id, [])

        def handle(task):
            with lock:
                mine.append(task.get_task_id())
            return task.complete({"issued_by": worker_id, "licence_no": f"L-{task.get_variable('n')}"})

        while not done.is_set() and time.monotonic() < deadline:
            try:
                worker.fetch_and_execute(TOPIC, handle)
            except NoExternalTaskFound:  # a long poll found nothing: done when no task of the topic is open
                left = requests.get(f"{base}/engine-rest/external-task/count", params={"topicName": TOPIC},
                                    headers={"Authorization": f"Bearer {worker_token}"}, timeout=30)
                if left.ok and left.json()["count"] == 0:
                    done.set()
            except Exception as exc:  # noqa: BLE001 - a failed call is counted and reported, the worker goes on
                with lock:
                    outcome.errors.append(f"{worker_id}: {exc}")
            with lock:
                if sum(len(tasks) for tasks in outcome.handled.values()) >= count:
                    done.set()

    started = time.monotonic()
    pool = [threading.Thread(target=run, args=(f"worker-{n + 1}",)) for n in range(workers)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=seconds + 60)
    outcome.seconds = time.monotonic() - started
    return outcome


def check_exactly_once(case_ids: list[str]) -> dict[str, int]:
    """In the database (an app context): every case's task completed once and the case completed."""
    import sqlalchemy as sa

    from app.audit.models import AuditEntry
    from app.extensions import db
    from app.instances.external_models import ExternalTask
    from app.instances.models import ProcessInstance

    rows = db.session.execute(sa.select(ExternalTask.id, ExternalTask.state, ExternalTask.instance_id)
                              .where(ExternalTask.instance_id.in_(case_ids))).all()
    completions = Counter(db.session.scalars(sa.select(AuditEntry.task_id).where(
        AuditEntry.action == "external_task.completed", AuditEntry.instance_id.in_(case_ids))))
    states = Counter(db.session.scalars(sa.select(ProcessInstance.state).where(ProcessInstance.id.in_(case_ids))))
    figures = {"cases": len(case_ids), "tasks": len(rows),
               "completed_rows": sum(1 for r in rows if r.state == "completed"),
               "completed_once": sum(1 for r in rows if completions[r.id] == 1),
               "completed_twice_or_more": sum(1 for r in rows if completions[r.id] > 1),
               "cases_completed": states.get("completed", 0)}
    return figures


# -- the full run ------------------------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=3, help="racing Camunda clients")
    parser.add_argument("--processes", type=int, default=3, help="gunicorn worker processes")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql")):
        print("DATABASE_URL=postgresql://... is needed (several server processes on one database)", file=sys.stderr)
        return 2
    import psycopg
    from sqlalchemy.engine import make_url

    base_url = make_url(url.replace("postgres://", "postgresql://", 1))
    admin_dsn = base_url.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"tongban_race_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    database = base_url.set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False)
    server = None
    try:
        os.environ["DATABASE_URL"] = database
        from flask_migrate import upgrade

        from app import create_app
        from app.extensions import db
        from app.people import service
        from app.people.auth import issue_token

        app = create_app({"SCHEDULER_ENABLED": False, "SQLALCHEMY_DATABASE_URI": database})
        logging.getLogger("alembic").setLevel(logging.WARNING)  # the migration's steps are not the figures
        with app.app_context():
            upgrade(directory=str(ROOT / "migrations"))
            tokens = {role: issue_token(service.upsert_user(f"race_{role}", role, [role]))
                      for role in ("analyst", "admin", "worker")}
            db.session.commit()
        port = _free_port()
        env = {**os.environ, "DATABASE_URL": database, "TONGBAN_SCHEDULER": "off", "TONGBAN_LOG_LEVEL": "WARNING"}
        server = subprocess.Popen([sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers",
                                   str(args.processes), "--threads", "4", "--log-level", "warning",
                                   "app.wsgi:application"], cwd=ROOT, env=env)
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                if requests.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        began = time.monotonic()
        case_ids = deploy_and_start(base, tokens["analyst"], tokens["admin"], args.tasks)
        print(f"{args.tasks} cases started in {time.monotonic() - began:.1f} s")
        outcome = race(base, tokens["worker"], args.tasks, workers=args.workers)
        with app.app_context():
            figures = check_exactly_once(case_ids)
            db.session.remove()
            db.engine.dispose()
        per_worker = {worker: len(tasks) for worker, tasks in outcome.handled.items()}
        print(f"{args.workers} Camunda clients, {args.processes} server processes: {outcome.seconds:.1f} s, "
              f"handled per worker {per_worker}, duplicates {len(outcome.duplicates())}, "
              f"client errors {len(outcome.errors)}")
        print("database:", figures)
        for error in outcome.errors[:5]:
            print("  error:", error)
        ok = (figures["completed_once"] == args.tasks == figures["cases_completed"]
              and figures["completed_twice_or_more"] == 0 and not outcome.duplicates())
        print("each task completed exactly once" if ok else "FAILED")
        return 0 if ok else 1
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    sys.exit(main())
