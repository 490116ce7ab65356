"""延期 racing a step of the same case: both succeed, in either order, behind gunicorn with 3 worker processes.

The extension writes only the hall's row (under the case's lock, the order every writer keeps); the step writes the
runtime's rows and the hall's. Neither bumps what the other checks, so neither loses with 409: the extension and
the review's completion of each case are both done, and the case's due date counts the extension.
"""

from __future__ import annotations

import threading
from collections import Counter

import requests

from tests.concurrency.test_races import gunicorn
from tests.matters.conftest import hall  # noqa: F401  (the module's real hall: fixture)
from tests.matters.test_every_matter_runs import MATTERS, form_data, short

CASES = 16


def test_an_extension_and_a_step_racing_on_one_case_both_succeed(app, hall, tmp_path):  # noqa: F811
    matter = next(m for m in MATTERS if m["kind"] == "promised" and not m["special_procedures"])
    key = "matter_" + matter["code"].replace("-", "_")
    window = hall.holder(f"{short(matter['department'])}受理A岗")
    reviewer = hall.holder(f"{short(matter['department'])}审核岗")
    head = hall.holder(f"{short(matter['department'])}负责人岗")  # the department's head approves a 延期
    with gunicorn(app, tmp_path, workers=3) as base:
        http = requests.Session()

        def call(method: str, path: str, user: str, json=None) -> requests.Response:
            return http.request(method, f"{base}/api/v1{path}", json=json, headers=hall.auth(user), timeout=60)

        cases = []
        for i in range(CASES):  # each case accepted and waiting at its review
            started = call("POST", f"/process-definitions/{key}/instances", window,
                           json={"business_key": f"extension-race-{i}", "data": {"applicant": "某公司"}})
            assert started.status_code == 201, started.text
            accept = started.json()["tasks"][0]
            assert call("POST", f"/tasks/{accept['id']}/claim", window).status_code == 200
            done = call("POST", f"/tasks/{accept['id']}/complete", window,
                        json={"data": form_data("accept", matter, "granted", {})})
            assert done.status_code == 200, done.text
            review = next(t for t in done.json()["next_tasks"] if t["element_id"] == "review")
            assert call("POST", f"/tasks/{review['id']}/claim", reviewer).status_code == 200
            cases.append({"id": started.json()["id"], "review": review["id"],
                          "due": call("GET", f"/instances/{started.json()['id']}/clock", head).json()["due_date"]})

        statuses: Counter = Counter()
        lock = threading.Lock()

        def extend(case):
            response = requests.post(f"{base}/api/v1/instances/{case['id']}/extend", headers=hall.auth(head),
                                     json={"reason": "需要补充调查"}, timeout=60)
            with lock:
                statuses[("extend", response.status_code)] += 1

        def complete(case):
            response = requests.post(f"{base}/api/v1/tasks/{case['review']}/complete", headers=hall.auth(reviewer),
                                     json={"data": form_data("review", matter, "granted", {})}, timeout=60)
            with lock:
                statuses[("complete", response.status_code)] += 1

        threads = []
        for i, case in enumerate(cases):  # half the cases extend first, half complete first
            first, second = (extend, complete) if i % 2 else (complete, extend)
            threads += [threading.Thread(target=first, args=(case,)), threading.Thread(target=second, args=(case,))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert statuses == Counter({("extend", 200): CASES, ("complete", 200): CASES}), statuses

        for case in cases:
            clock = call("GET", f"/instances/{case['id']}/clock", head).json()
            assert clock["extended_days"] == 10 and clock["due_date"] > case["due"], clock
            detail = call("GET", f"/instances/{case['id']}", head).json()
            assert [t["element_id"] for t in detail["tasks"]] == ["decide"], detail["tasks"]
            course = [e["kind"] for e in call("GET", f"/instances/{case['id']}/course", head).json()["items"]]
            assert course[:2] == ["received", "accepted"] and "extended" in course, course
