"""Several scheduler workers on one database: each due timer fires exactly once."""

from __future__ import annotations

import threading

from app.audit.models import AuditEntry
from app.extensions import db
from app.timers import service as timers
from app.timers.models import Timer
from tests.conftest import deploy


def test_concurrent_workers_fire_each_timer_once(in_app, app, client, people, clock):
    deploy(client, people, "waits.bpmn")
    ids = [client.post("/api/v1/process-definitions/waits/instances", json={}, headers=people.auth("clerk")).json["id"]
           for _ in range(12)]
    clock.advance(minutes=6)

    advanced: list[int] = []

    def worker() -> None:
        with app.app_context():
            try:
                advanced.append(in_app(timers.fire_due))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sum(advanced) == 12
    with app.app_context():
        fired = db.session.scalars(db.select(AuditEntry.instance_id).where(AuditEntry.action == "timer.fired")).all()
    assert sorted(fired) == sorted(ids)  # one firing per case, no doubles
    with app.app_context():
        states = db.session.scalars(db.select(Timer.state).where(Timer.element_id == "pause")).all()
    assert states == ["fired"] * 12
