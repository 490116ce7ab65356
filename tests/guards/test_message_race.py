"""Messages tell the truth under a race: several senders of one message to one waiting case (PostgreSQL, three
server processes) — one of them reaches it (200, `delivered_to` the case), every other one gets 404 (or 409
busy), never `200 {"delivered_to": []}`; the case merged exactly one sender's data."""

from __future__ import annotations

import os
import threading
from collections import Counter

import pytest
import requests

from tests.concurrency.test_races import gunicorn
from tests.conftest import FIXTURES

SENDERS = 8


@pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgres"),
                    reason="several server processes on one database: PostgreSQL")
def test_concurrent_senders_to_one_case_one_wins_the_others_get_404(app, people, tmp_path):
    statuses: Counter = Counter()
    winners: dict[str, list[str]] = {}
    lock = threading.Lock()
    with gunicorn(app, tmp_path) as base:
        with (FIXTURES / "reply.bpmn").open("rb") as handle:
            deployed = requests.post(f"{base}/api/v1/process-definitions", files={"file": ("reply.bpmn", handle)},
                                     headers=people.auth("analyst"), timeout=30)
        assert deployed.status_code == 201, deployed.text
        cases = {}
        for n in range(10):
            started = requests.post(f"{base}/api/v1/process-definitions/reply/instances", timeout=30,
                                    json={"business_key": f"RACE-{n}"}, headers=people.auth("clerk"))
            assert started.status_code == 201, started.text
            cases[f"RACE-{n}"] = started.json()["id"]

        def send(key: str, sender: int, barrier: threading.Barrier) -> None:
            barrier.wait(timeout=30)
            response = requests.post(f"{base}/api/v1/messages", timeout=60, headers=people.auth("clerk"), json={
                "name": "higher_authority_reply", "business_key": key, "data": {"sender": sender}})
            with lock:
                statuses[response.status_code] += 1
                if response.status_code == 200:
                    body = response.json()
                    assert body["delivered_to"] == [cases[key]], body  # never 200 with nothing delivered
                    winners.setdefault(key, []).append(str(sender))
                else:
                    assert response.status_code in (404, 409), response.text
                    assert set(response.json()) == {"code", "message", "details"}

        threads = []
        for key in cases:
            barrier = threading.Barrier(SENDERS)
            threads += [threading.Thread(target=send, args=(key, s, barrier)) for s in range(SENDERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        details = {key: requests.get(f"{base}/api/v1/instances/{case}", headers=people.auth("admin"),
                                     timeout=30).json() for key, case in cases.items()}
    print(f"\nmessages racing, 3 workers: {dict(statuses)}")
    assert sum(statuses.values()) == 10 * SENDERS and not any(code >= 500 for code in statuses)
    for key, detail in details.items():
        assert len(winners.get(key, [])) == 1, (key, winners.get(key))
        assert str(detail["data"]["sender"]) == winners[key][0]  # the winner's data, merged once
        assert [t["element_id"] for t in detail["tasks"]] == ["inform"]
