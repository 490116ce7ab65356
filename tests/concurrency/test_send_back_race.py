"""退回 and 撤回 racing other writers of the same case, on either database, behind the threaded test server: two
send-backs of one task, a send-back and a completion, a take-back and a claim of the step it would cancel. Each
pair started together, many cases at once: exactly one of each pair wins, the other answers 409 (never a 5xx),
and every case is left whole — its open task rows are what its engine state says, one task open."""

from __future__ import annotations

import threading
from collections import Counter

import requests

from app.extensions import db
from app.instances import runtime
from app.instances.models import ProcessInstance
from app.tasks.models import UserTask
from tests.conftest import deploy

CASES = 8
ACCEPT = {"applicant": "张三", "materials_complete": True}


class Api:
    def __init__(self, base: str, people) -> None:
        self.base, self.people = base, people

    def call(self, method: str, path: str, user: str, json=None) -> requests.Response:
        return requests.request(method, f"{self.base}/api/v1{path}", json=json, headers=self.people.auth(user),
                                timeout=60)

    def ok(self, method: str, path: str, user: str, json=None, status: int = 200) -> dict:
        response = self.call(method, path, user, json)
        assert response.status_code == status, (path, response.status_code, response.text)
        return response.json()

    def at_review(self, claimed: bool) -> dict:
        case = self.ok("POST", "/process-definitions/send_back/instances", "clerk", {"data": {"route": "plain"}},
                       status=201)
        accept = case["tasks"][0]
        self.ok("POST", f"/tasks/{accept['id']}/claim", "clerk")
        review = next(t for t in self.ok("POST", f"/tasks/{accept['id']}/complete", "clerk",
                                         {"data": ACCEPT})["next_tasks"] if t["element_id"] == "review")
        if claimed:
            self.ok("POST", f"/tasks/{review['id']}/claim", "approver")
        return {"id": case["id"], "accept": accept["id"], "review": review["id"]}


def race(pairs: list[tuple]) -> Counter:
    """Start each pair's two calls together (all pairs at once); count (name, status) of every answer."""
    statuses: Counter = Counter()
    lock = threading.Lock()
    per_case: dict[int, list] = {}
    start = threading.Barrier(2 * len(pairs))

    def run(index: int, name: str, call):
        start.wait(timeout=60)
        response = call()
        with lock:
            statuses[(name, response.status_code)] += 1
            per_case.setdefault(index, []).append((name, response.status_code))
            assert response.status_code < 500, response.text

    threads = [threading.Thread(target=run, args=(i, name, call))
               for i, pair in enumerate(pairs) for name, call in pair]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for index, answers in per_case.items():  # one of each pair won, the other was told 409
        assert sorted(status for _, status in answers) == [200, 409], (index, answers)
    return statuses


def whole(app, case_ids: list[str]) -> None:
    """Every case's open task rows are its engine state's open user tasks: nothing half written."""
    with app.app_context():
        for case_id in case_ids:
            instance = db.session.get(ProcessInstance, case_id)
            engine = {t.id for t in runtime.load(instance).snapshot().user_tasks}
            rows = set(db.session.scalars(db.select(UserTask.id).where(
                UserTask.instance_id == case_id, UserTask.state == "open")))
            assert rows == engine and len(rows) == 1, (case_id, rows, engine)
        db.session.remove()


def test_send_backs_completions_and_take_backs_racing(app, client, people, live_server):
    assert deploy(client, people, "send_back.bpmn").status_code in (200, 201)
    api = Api(live_server, people)
    reason = {"to": "accept", "reason": "材料有误，退回重新受理"}

    # two send-backs of one review: its holder and the department's supervisor
    cases = [api.at_review(claimed=True) for _ in range(CASES)]
    statuses = race([(("holder", lambda c=c: api.call("POST", f"/tasks/{c['review']}/send-back", "approver", reason)),
                      ("supervisor", lambda c=c: api.call("POST", f"/tasks/{c['review']}/send-back", "boss", reason)))
                     for c in cases])
    assert sum(n for (_, status), n in statuses.items() if status == 200) == CASES, statuses
    print("\n  race:", dict(statuses))
    whole(app, [c["id"] for c in cases])
    for case in cases:  # one send-back: one reopened acceptance, one audit entry
        audit = api.ok("GET", f"/instances/{case['id']}/audit", "admin")["items"]
        assert [e["action"] for e in audit].count("task.sent_back") == 1

    # a send-back and a completion of the same review
    cases = [api.at_review(claimed=True) for _ in range(CASES)]
    statuses = race([(("send-back", lambda c=c: api.call("POST", f"/tasks/{c['review']}/send-back", "boss", reason)),
                      ("complete", lambda c=c: api.call("POST", f"/tasks/{c['review']}/complete", "approver",
                                                        {"data": {}})))
                     for c in cases])
    assert sum(n for (_, status), n in statuses.items() if status == 200) == CASES, statuses
    print("\n  race:", dict(statuses))
    whole(app, [c["id"] for c in cases])

    # a take-back of the acceptance and a claim of the review it would cancel
    cases = [api.at_review(claimed=False) for _ in range(CASES)]
    statuses = race([(("take-back", lambda c=c: api.call("POST", f"/tasks/{c['accept']}/take-back", "clerk", {})),
                      ("claim", lambda c=c: api.call("POST", f"/tasks/{c['review']}/claim", "approver")))
                     for c in cases])
    assert sum(n for (_, status), n in statuses.items() if status == 200) == CASES, statuses
    print("\n  race:", dict(statuses))
    whole(app, [c["id"] for c in cases])
    for case in cases:  # a claimed review was never cancelled under its holder
        review = api.ok("GET", f"/tasks/{case['review']}", "admin")
        assert (review["state"], review["assignee"]) in (("open", "approver"), ("cancelled", None)), review
