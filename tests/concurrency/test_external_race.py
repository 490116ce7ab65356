"""Camunda's own Python external-task client: 3 workers racing for the same topic complete each task exactly once.

On PostgreSQL behind gunicorn with 3 server processes (fetchAndLock with SKIP LOCKED, completions through the
case lock), with a fourth, slow worker whose locks expire under it; on either database behind the in-process
server. `tools/external_race.py --tasks 1000` is the full run (README: External tasks).
"""

from __future__ import annotations

import os
import threading
import time

import pytest
import requests

from app.extensions import db
from tests.concurrency.test_races import gunicorn
from tools import external_race


def _worker_token(base: str, people) -> str:
    admin = people.auth("admin")
    assert requests.post(f"{base}/api/v1/users", headers=admin, timeout=30,
                         json={"username": "race_bot", "name": "竞争工作者", "roles": ["worker"]}).status_code in (200, 201)
    issued = requests.post(f"{base}/api/v1/users/race_bot/tokens", headers=admin, json={}, timeout=30)
    assert issued.status_code in (200, 201), issued.text
    return issued.json()["token"]


def _slow_worker(base: str, token: str, stop: threading.Event, statuses: list[int]) -> None:
    """Locks a task for 50 ms, works 300 ms, then tries to complete it: by then a racing worker may hold it."""
    headers = {"Authorization": f"Bearer {token}"}
    body = {"workerId": "slow", "maxTasks": 1,
            "topics": [{"topicName": external_race.TOPIC, "lockDuration": 50}]}
    while not stop.is_set():
        tasks = requests.post(f"{base}/engine-rest/external-task/fetchAndLock", json=body, headers=headers,
                              timeout=30).json()
        if not tasks:
            time.sleep(0.05)
            continue
        time.sleep(0.3)
        response = requests.post(f"{base}/engine-rest/external-task/{tasks[0]['id']}/complete", headers=headers,
                                 json={"workerId": "slow", "variables": {"issued_by": {"value": "slow"}}}, timeout=30)
        statuses.append(response.status_code)


def _check(app, case_ids: list[str], outcome, count: int) -> dict:
    with app.app_context():
        figures = external_race.check_exactly_once(case_ids)
        db.session.remove()
    assert not outcome.errors, outcome.errors[:3]
    assert figures == {"cases": count, "tasks": count, "completed_rows": count, "completed_once": count,
                       "completed_twice_or_more": 0, "cases_completed": count}, figures
    return figures


@pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgres"),
                    reason="several server processes on one database: PostgreSQL")
def test_three_camunda_clients_and_a_slow_worker_race_on_three_server_processes(app, people, tmp_path):
    count = 120
    with gunicorn(app, tmp_path) as base:
        token = _worker_token(base, people)
        case_ids = external_race.deploy_and_start(base, people.tokens["analyst"], people.tokens["clerk"], count)
        stop, slow_statuses = threading.Event(), []
        slow = threading.Thread(target=_slow_worker, args=(base, token, stop, slow_statuses))
        slow.start()
        try:
            outcome = external_race.race(base, token, count, workers=3, seconds=240)
        finally:
            stop.set()
            slow.join(timeout=60)
    assert set(slow_statuses) <= {204, 400, 404}, slow_statuses  # its lock expired: refused, never a 5xx
    print(f"\n3 Camunda clients x 3 processes: {outcome.seconds:.1f} s for {count} tasks, slow worker {slow_statuses}")
    assert not outcome.duplicates()
    _check(app, case_ids, outcome, count)


def test_three_camunda_clients_race_in_one_server(app, people, live_server):
    count = 30
    token = _worker_token(live_server, people)
    case_ids = external_race.deploy_and_start(live_server, people.tokens["analyst"], people.tokens["clerk"], count,
                                              threads=4)
    outcome = external_race.race(live_server, token, count, workers=3, seconds=120)
    assert not outcome.duplicates()
    _check(app, case_ids, outcome, count)
