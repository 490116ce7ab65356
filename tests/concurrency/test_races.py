"""Writers of one case racing each other — completions, cancels, timers, messages — answer 2xx, 404 or 409, never a
5xx, and leave every case consistent: its task, timer and subscription rows say what its engine state says.

The full race runs on PostgreSQL behind gunicorn with 3 worker processes (each with its own scheduler firing the
cases' timers); a lighter one runs on either database behind the in-process test server. Every loop is bounded by
a count and a deadline; nothing asserts on timing.
"""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from app.audit.models import AuditEntry
from app.extensions import db
from app.instances import runtime
from app.instances.models import ProcessInstance
from app.messages.models import MessageSubscription
from app.tasks.models import UserTask
from app.timers.models import Timer
from tests.conftest import FIXTURES, ROOT

RACE = Path(__file__).with_name("race.bpmn")
ALLOWED = {"complete": {200, 409}, "cancel": {200, 409}, "message": {200, 404, 409}}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def gunicorn(app, tmp_path: Path, workers: int = 3) -> Iterator[str]:
    """The served application (app.wsgi, schedulers on) in `workers` processes on the test database."""
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "TONGBAN_SCHEDULER": "on",
           "TONGBAN_TIMER_POLL_SECONDS": "0.2", "TONGBAN_LOG_LEVEL": "WARNING",
           "TONGBAN_FORMS_DIR": str(FIXTURES / "forms"), "TONGBAN_PROCESSES_DIR": str(tmp_path)}
    log = (tmp_path / "gunicorn.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
         "--threads", "4", "--graceful-timeout", "5", "app.wsgi:application"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert server.poll() is None, (tmp_path / "gunicorn.log").read_text(errors="replace")
            try:
                if requests.get(f"{base}/healthz", timeout=5).status_code == 200:
                    break
            except requests.RequestException:  # not listening yet, or a worker still importing
                time.sleep(0.2)
        else:
            pytest.fail("gunicorn did not come up within 60 s")
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
        log.close()
        text = (tmp_path / "gunicorn.log").read_text(errors="replace")
        assert "Traceback" not in text, text[-4000:]  # no unhandled error in any worker, nor in a scheduler


class Race:
    """Starts `race` cases over HTTP and throws operations at them from many threads."""

    def __init__(self, base: str, people) -> None:
        self.base, self.people = base, people
        self.statuses: dict[str, Counter] = {kind: Counter() for kind in ALLOWED}
        self.lock = threading.Lock()

    def call(self, method: str, path: str, user: str, json=None) -> requests.Response:
        return requests.request(method, f"{self.base}/api/v1{path}", json=json, headers=self.people.auth(user),
                                timeout=30)

    def deploy(self) -> None:
        with RACE.open("rb") as handle:
            response = requests.post(f"{self.base}/api/v1/process-definitions", files={"file": ("race.bpmn", handle)},
                                     headers=self.people.auth("analyst"), timeout=30)
        assert response.status_code == 201, response.text

    def start(self, count: int, wait: Callable[[int], str], threads: int = 8) -> list[dict]:
        """Start `count` cases from a few threads (so their timers come due close together)."""
        cases: list[dict | None] = [None] * count

        def one(i: int) -> None:
            response = self.call("POST", "/process-definitions/race/instances", "clerk",
                                 json={"business_key": f"race-{i}", "data": {"wait": wait(i)}})
            assert response.status_code == 201, response.text
            body = response.json()
            work = next(t["id"] for t in body["tasks"] if t["element_id"] == "work")
            cases[i] = {"id": body["id"], "business_key": f"race-{i}", "work": work}

        failures = self.storm([lambda i=i: one(i) for i in range(count)], threads=threads)
        assert not failures, failures[:3]
        return cases

    def operation(self, kind: str, case: dict, user: str):
        def run() -> None:
            if kind == "complete":
                response = self.call("POST", f"/tasks/{case['work']}/complete", user, json={"data": {"by": user}})
            elif kind == "cancel":
                response = self.call("POST", f"/instances/{case['id']}/cancel", "boss", json={"reason": "并发测试"})
            else:
                response = self.call("POST", "/messages", user, json={
                    "name": "race_nudge", "business_key": case["business_key"], "data": {"nudged_by": user}})
            with self.lock:
                self.statuses[kind][response.status_code] += 1
            assert response.status_code in ALLOWED[kind], (kind, response.status_code, response.text)
            if response.status_code >= 400:  # the documented error body, whatever the error
                assert set(response.json()) == {"code", "message", "details"}, response.text

        return run

    def storm(self, operations: list, threads: int, seconds: float = 120) -> list[BaseException]:
        """Run the operations from `threads` threads, each once, in list order; returns what failed (bounded by
        `seconds`). Consecutive operations run at the same time: `mixed` groups them by case."""
        pending = list(reversed(operations))
        failures: list[BaseException] = []
        deadline = time.monotonic() + seconds

        def worker() -> None:
            while time.monotonic() < deadline:
                with self.lock:
                    if not pending:
                        return
                    run = pending.pop()
                try:
                    run()
                except BaseException as exc:  # noqa: BLE001 - every failure is reported, none stops the storm
                    with self.lock:
                        failures.append(exc)

        pool = [threading.Thread(target=worker) for _ in range(threads)]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join(timeout=seconds + 30)
        assert not pending, f"{len(pending)} operations never ran within {seconds} s"
        return failures

    def figures(self) -> str:
        total = sum(sum(c.values()) for c in self.statuses.values())
        five = sum(n for c in self.statuses.values() for code, n in c.items() if code >= 500)
        conflicts = sum(c[409] for c in self.statuses.values())
        return f"{total} requests, {five} x 5xx, {conflicts} x 409: " + \
            ", ".join(f"{kind} {dict(sorted(c.items()))}" for kind, c in self.statuses.items())


def mixed(race: Race, cases: list[dict], completions: int, cancels: int, messages: int,
          cancelled_share: int = 1) -> list:
    """Operations on every case, shuffled within each case and grouped by case, so that a case's completions,
    cancels and messages go out together (cancels on every `cancelled_share`-th case only, so that some cases
    run on to their timer)."""
    shuffle = random.Random(8).shuffle
    operations = []
    for n, case in enumerate(cases):
        ours = [race.operation("complete", case, ("clerk", "clerk2")[i % 2]) for i in range(completions)]
        ours += [race.operation("cancel", case, "boss") for _ in range(cancels if n % cancelled_share == 0 else 0)]
        ours += [race.operation("message", case, "clerk") for _ in range(messages)]
        shuffle(ours)
        operations += ours
    return operations


def settle(app, ids: list[str], seconds: float = 20) -> None:
    """Wait (bounded) until no running case has a timer due: the schedulers have caught up."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with app.app_context():
            due = db.session.scalar(
                db.select(db.func.count()).select_from(Timer).join(ProcessInstance, ProcessInstance.id == Timer.instance_id)
                .where(Timer.instance_id.in_(ids), Timer.state == "waiting", ProcessInstance.state == "running",
                       Timer.due_at <= _utcnow()))
        if not due:
            return
        time.sleep(0.2)
    pytest.fail(f"timers still due after {seconds} s")


def _utcnow():
    from datetime import UTC, datetime

    return datetime.now(UTC)


def consistent(app, cases: list[dict]) -> Counter:
    """Every case's rows agree with its engine state; returns how the cases ended."""
    endings: Counter = Counter()
    with app.app_context():
        for case in cases:
            instance = db.session.get(ProcessInstance, case["id"])
            tasks = db.session.scalars(db.select(UserTask).where(UserTask.instance_id == case["id"])).all()
            open_tasks = {t.id for t in tasks if t.state == "open"}
            timers = {t.task_id for t in db.session.scalars(db.select(Timer).where(
                Timer.instance_id == case["id"], Timer.state == "waiting"))}
            waiting = {m.task_id for m in db.session.scalars(db.select(MessageSubscription).where(
                MessageSubscription.instance_id == case["id"]))}
            completions = db.session.scalar(db.select(db.func.count()).select_from(AuditEntry).where(
                AuditEntry.task_id == case["work"], AuditEntry.action == "task.completed"))
            work = next(t for t in tasks if t.id == case["work"])
            where = (case["id"], instance.state, work.state)
            assert completions == (1 if work.state == "completed" else 0), where  # a completion is the row's
            if instance.state == "cancelled":
                assert (open_tasks, timers, waiting) == (set(), set(), set()), where
            else:
                snap = runtime.load(instance).snapshot()
                assert snap.state == instance.state, where
                assert open_tasks == {t.id for t in snap.user_tasks}, where
                assert timers == {t.task_id for t in snap.timers}, where
                assert waiting == {m.task_id for m in snap.messages}, where
                assert work.state == ("open" if work.id in open_tasks else work.state), where
            late = [t for t in tasks if t.element_id == "late"]
            # the boundary timer interrupts the step: either the step was done or the timer fired, never both
            assert not (work.state == "completed" and late), where
            assert len(late) <= 1, where
            endings[(instance.state, work.state, "timer fired" if late else "no timer")] += 1
            db.session.expunge_all()
    return endings


def _report(name: str, race: Race) -> None:
    print(f"\n{name}: {race.figures()}")  # shown with -s


@pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgres"),
                    reason="several worker processes on one database: PostgreSQL (SQLite runs the lighter race)")
def test_complete_cancel_timer_message_with_three_workers(app, people, tmp_path):
    """10 cases × (10 completions, 10 cancels, 5 messages) = 250 requests, a case's 25 at once from 16 threads;
    every other case's boundary timer comes due during the storm."""
    with gunicorn(app, tmp_path) as base:
        race = Race(base, people)
        race.deploy()
        cases = race.start(10, lambda i: "PT1S" if i % 2 else "PT1H")
        failures = race.storm(mixed(race, cases, completions=10, cancels=10, messages=5), threads=16)
        settle(app, [c["id"] for c in cases])
    _report("complete x cancel x timer x message, 3 workers", race)
    assert not failures, failures[:5]
    assert sum(sum(c.values()) for c in race.statuses.values()) == 250
    print("  endings:", dict(consistent(app, cases)))


@pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgres"),
                    reason="several worker processes on one database: PostgreSQL")
def test_timer_races_completion_with_three_workers(app, people, tmp_path):
    """Every case's boundary timer comes due while its step is being completed: one of them wins, cleanly."""
    with gunicorn(app, tmp_path) as base:
        race = Race(base, people)
        race.deploy()
        cases = race.start(40, lambda i: "PT2S")
        time.sleep(1.7)  # the timers come due while the completions go out (which wins is not asserted)
        failures = race.storm(mixed(race, cases, completions=2, cancels=0, messages=0), threads=12)
        settle(app, [c["id"] for c in cases])
    _report("timer x completion, 3 workers", race)
    assert not failures, failures[:5]
    print("  endings:", dict(consistent(app, cases)))


def test_complete_cancel_message_race_in_one_server(app, people, live_server):
    """The lighter race, on either database: one threaded server, timers fired by this app's scheduler;
    20 cases × (2 completions, 1 message) and 2 cancels on every other case = 80 requests."""
    from app.timers import scheduler

    app.config["CLOCK"] = None  # the scheduler fires on the wall clock
    app.config["SCHEDULER_INTERVAL_SECONDS"] = 0.2
    race = Race(live_server, people)
    race.deploy()
    cases = race.start(20, lambda i: f"PT{1 + i % 3}S")
    sched = scheduler.start(app)
    try:
        failures = race.storm(mixed(race, cases, completions=2, cancels=2, messages=1, cancelled_share=2), threads=8)
        settle(app, [c["id"] for c in cases])
    finally:
        sched.shutdown(wait=True)
    _report("complete x cancel x timer x message, one server", race)
    assert not failures, failures[:5]
    assert sum(sum(c.values()) for c in race.statuses.values()) == 80
    print("  endings:", dict(consistent(app, cases)))
