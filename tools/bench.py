"""Measure Tongban against raw SpiffWorkflow, in one run on one machine (see tools/bench)."""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tools" / "bench_data"
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(database_url: str) -> dict[str, str]:
    """Migrate, create the bench post and users, return their tokens."""
    os.environ["DATABASE_URL"] = database_url
    from flask_migrate import upgrade

    from app import create_app
    from app.extensions import db
    from app.people import service
    from app.people.auth import issue_token
    from app.people.models import Post

    app = create_app({"SCHEDULER_ENABLED": False})
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        db.session.add(Post(name="基准岗", kind="window_a"))
        db.session.flush()
        tokens = {
            "analyst": issue_token(service.upsert_user("bench_analyst", "基准分析员", ["analyst"])),
            "clerk": issue_token(service.upsert_user("bench_clerk", "基准窗口", ["clerk"], ["基准岗"])),
        }
        db.session.commit()
    return tokens


def start_server(database_url: str, port: int, workers: int, threads: int) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": database_url, "TONGBAN_SCHEDULER": "off", "TONGBAN_LOG_LEVEL": "WARNING"}
    server = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
         "--threads", str(threads), "--log-level", "warning", "app.wsgi:application"],
        cwd=ROOT, env=env)
    for _ in range(100):
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok:
                return server
        except requests.RequestException:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("the server did not start")


class LightClient:
    """One keep-alive HTTP/1.1 connection with the standard library: the client should cost little next to the
    server on a 2-core machine, so the figure measures the service, not `requests`."""

    def __init__(self, base: str, headers: dict[str, str]) -> None:
        host, port = base.removeprefix("http://").split(":")
        self.connection = http.client.HTTPConnection(host, int(port), timeout=30)
        self.headers = {**headers, "Content-Type": "application/json"}

    def post(self, path: str, body: dict) -> dict:
        self.connection.request("POST", path, body=json.dumps(body), headers=self.headers)
        response = self.connection.getresponse()
        payload = json.loads(response.read())
        if response.status >= 400:
            raise SystemExit(f"POST {path}: {response.status} {payload}")
        return payload


def http_cases(base: str, token: str, cases: int, clients: int) -> float:
    """Cases per second: start, complete the first task, complete the second (3 requests a case)."""
    headers = {"Authorization": f"Bearer {token}"}
    per_client = cases // clients
    errors: list[str] = []

    def run() -> None:
        http = LightClient(base, headers)
        for _ in range(per_client):
            started = http.post("/api/v1/process-definitions/bench_two_tasks/instances", {"data": {}})
            first = http.post(f"/api/v1/tasks/{started['tasks'][0]['id']}/complete", {"data": {"ok": 1}})
            second = http.post(f"/api/v1/tasks/{first['next_tasks'][0]['id']}/complete", {"data": {}})
            if second.get("instance_state") != "completed":
                errors.append(json.dumps(second, ensure_ascii=False))

    threads = [threading.Thread(target=run) for _ in range(clients)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    if errors:
        raise SystemExit(f"{len(errors)} cases did not complete: {errors[0]}")
    return per_client * clients / elapsed


def raw_spiff_cases(cases: int) -> float:
    """The same process in SpiffWorkflow alone, in memory: no HTTP, no database, no serialization."""
    from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
    from SpiffWorkflow.camunda.parser import CamundaParser
    from SpiffWorkflow.util.task import TaskState

    parser = CamundaParser()
    parser.add_bpmn_file(str(DATA / "two_tasks.bpmn"))
    spec = parser.get_spec("bench_two_tasks")
    began = time.perf_counter()
    for _ in range(cases):
        workflow = BpmnWorkflow(spec)
        workflow.do_engine_steps()
        for _step in range(2):
            task = workflow.get_tasks(state=TaskState.READY, manual=True)[0]
            task.data.update({"ok": 1})
            task.run()
            workflow.do_engine_steps()
        assert workflow.is_completed()
    return cases / (time.perf_counter() - began)


def raw_persisted_cases(cases: int, directory: str) -> float:
    """The persisted ceiling: the same case in raw SpiffWorkflow, its whole state serialized with SpiffWorkflow's
    own serializer and written to SQLite (WAL, synchronous=FULL as Tongban runs) in a transaction at every step:
    what any service that stores a case after each step must at least spend, without HTTP or task rows."""
    import sqlite3

    from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
    from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
    from SpiffWorkflow.camunda.parser import CamundaParser
    from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG
    from SpiffWorkflow.util.task import TaskState

    parser = CamundaParser()
    parser.add_bpmn_file(str(DATA / "two_tasks.bpmn"))
    spec = parser.get_spec("bench_two_tasks")
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(CAMUNDA_CONFIG))
    connection = sqlite3.connect(f"{directory}/ceiling.db", isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=FULL")
    connection.execute("CREATE TABLE IF NOT EXISTS workflow (id INTEGER PRIMARY KEY, state TEXT NOT NULL)")

    def store(case_id: int, workflow) -> None:
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("INSERT INTO workflow (id, state) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET "
                           "state = excluded.state", (case_id, serializer.serialize_json(workflow)))
        connection.execute("COMMIT")

    began = time.perf_counter()
    for case_id in range(cases):
        workflow = BpmnWorkflow(spec)
        workflow.do_engine_steps()
        store(case_id, workflow)
        for _step in range(2):
            task = workflow.get_tasks(state=TaskState.READY, manual=True)[0]
            task.data.update({"ok": 1})
            task.run()
            workflow.do_engine_steps()
            store(case_id, workflow)
        assert workflow.is_completed()
    rate = cases / (time.perf_counter() - began)
    connection.close()
    return rate


def step_costs(base: str, token: str, steps: int) -> tuple[float, float]:
    """Median latency of completing the looping task early in a case's history and late in it."""
    http = requests.Session()
    http.headers.update({"Authorization": f"Bearer {token}"})
    started = http.post(f"{base}/api/v1/process-definitions/bench_loop/instances", json={"data": {}}).json()
    task = started["tasks"][0]["id"]
    timings = []
    for step in range(steps):
        began = time.perf_counter()
        answer = http.post(f"{base}/api/v1/tasks/{task}/complete", json={"data": {"more": step < steps - 1}}).json()
        timings.append(time.perf_counter() - began)
        if answer["next_tasks"]:
            task = answer["next_tasks"][0]["id"]
    window = 20
    return statistics.median(timings[1:window + 1]) * 1000, statistics.median(timings[-window - 1:-1]) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=400)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--loop-steps", type=int, default=300)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="tongban-bench-")
    url = args.database_url or f"sqlite:///{tmp}/bench.db"
    tokens = prepare(url)
    port = free_port()
    server = start_server(url, port, args.workers, args.threads)
    base = f"http://127.0.0.1:{port}"
    try:
        for name in ("two_tasks.bpmn", "loop.bpmn"):
            with open(DATA / name, "rb") as handle:
                requests.post(f"{base}/api/v1/process-definitions", files={"file": (name, handle)},
                              headers={"Authorization": f"Bearer {tokens['analyst']}"}).raise_for_status()
        http_cases(base, tokens["clerk"], 40, 1)  # warm up: spec cache, connections
        raw = raw_spiff_cases(args.cases)
        ceiling = raw_persisted_cases(args.cases, tmp)
        print(f"database: {url.split(':')[0]}, gunicorn {args.workers} worker(s) x {args.threads} threads, "
              f"{os.cpu_count()} CPUs")
        print(f"raw SpiffWorkflow in memory: {raw:8.1f} cases/s  (start + 2 user tasks, no persistence)")
        print(f"persisted ceiling:           {ceiling:8.1f} cases/s  (raw SpiffWorkflow, whole state serialized "
              f"and written to SQLite at each of 3 steps)")
        for clients in args.clients:
            rate = http_cases(base, tokens["clerk"], args.cases, clients)
            print(f"Tongban over HTTP, {clients} client(s): {rate:8.1f} cases/s  (3 requests a case; "
                  f"{rate / ceiling:.0%} of the persisted ceiling; raw/HTTP = {raw / rate:.1f}x)")
        early, late = step_costs(base, tokens["clerk"], args.loop_steps)
        print(f"looping task: median step {early:.2f} ms at steps 1-20, {late:.2f} ms at the last 20 of "
              f"{args.loop_steps} (ratio {late / early:.2f})")
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
