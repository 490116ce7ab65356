"""Every one of the hall's 90 matters runs through the HTTP API to each of its possible ends.

One app and one database for the module (the `hall` fixture deploys the hall, forms/ and processes/ once).
Each case is started by the department's window clerk; every task is claimed and completed by the clerk
holding its post in hall.yaml, with data valid for its form; the end reached is read from the audit trail.
The last test drives one whole case, deployed by upload, through a real HTTP server.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import requests

from tests.documents.conftest import APPLICANT
from tests.matters.conftest import HALL, PROCESSES, catalog, seed_hall
from tools.replay.driver import Api, form_data, short  # noqa: F401  (the replay's driver; re-exported for other tests)

MATTERS = catalog()
DEPARTMENTS = {d["code"]: d for d in HALL["departments"]}
ENDS = {"granted": "end_granted", "refused": "end_refused", "not_accepted": "end_not_accepted",
        "supplemented": "end_granted", "approved": "end_higher_approved", "rejected": "end_higher_rejected",
        "supplemented_approved": "end_higher_approved", "supplement_refused": "end_not_accepted"}
SCENARIOS = {
    "immediate": ("granted", "refused", "not_accepted", "supplemented"),
    "promised": ("granted", "refused", "not_accepted", "supplemented"),
    "joint": ("granted", "refused", "not_accepted", "supplemented"),
    "reported": ("approved", "rejected", "not_accepted", "supplemented_approved"),
}
STANDARD_STEPS = {"accept", "supplement_notice", "supplement_check", "not_accepted", "review", "first_review",
                  "decide", "deliver", "deliver_refusal", "forward", "inform"}
CASES = [(m, s) for m in MATTERS for s in SCENARIOS[m["kind"]]]
# one matter per kind also checks that a supplement can still end as not accepted
CASES += [(next(m for m in MATTERS if m["kind"] == kind), "supplement_refused") for kind in SCENARIOS]


def _id(case) -> str:
    matter, scenario = case
    return f"{matter['code']}-{scenario}"


def run_case(api: Api, matter: dict, scenario: str) -> dict:
    """Drive one case from start to its end; returns what happened."""
    window_clerk = api.hall.holder(f"{short(matter['department'])}受理A岗")
    key = "matter_" + matter["code"].replace("-", "_")
    business_key = f"{matter['code']}/{scenario}"
    status, case = api.call("POST", f"/process-definitions/{key}/instances", window_clerk,
                            json={"business_key": business_key, "data": {"applicant": "无锡某某有限公司"},
                                  "applicant": APPLICANT})
    assert status == 201, case
    done: list[tuple[str, str, str]] = []  # (element id, post, who)
    messages = 0
    for _ in range(40):
        if case["state"] != "running":
            break
        if not case["tasks"]:
            assert [m["name"] for m in case["messages"]] == ["higher_authority_reply"], case
            decision = "rejected" if scenario == "rejected" else "approved"
            status, body = api.call("POST", "/messages", window_clerk, json={
                "name": "higher_authority_reply", "business_key": business_key,
                "data": {"higher_decision": decision, "higher_opinion": f"{matter['higher_authority']}批复"}})
            assert status == 200 and body["delivered_to"] == [case["id"]], body
            messages += 1
        for task in case["tasks"]:
            assert not task["element_id"].startswith("supervise_"), task  # no escalation in a prompt case
            clerk = api.hall.holder(task["post"])
            status, claimed = api.call("POST", f"/tasks/{task['id']}/claim", clerk)
            assert status == 200 and claimed["assignee"] == clerk, (task, claimed)
            data = form_data(task["form_key"], matter, scenario, case["data"])
            status, completed = api.call("POST", f"/tasks/{task['id']}/complete", clerk, json={"data": data})
            assert status == 200 and completed["state"] == "completed", (task, completed)
            done.append((task["element_id"], task["post"], clerk))
        status, case = api.call("GET", f"/instances/{case['id']}", window_clerk)
        assert status == 200, case
    assert case["state"] == "completed", case
    assert case["tasks"] == [] and case["messages"] == []
    status, trail = api.call("GET", f"/instances/{case['id']}/audit", window_clerk, params={"limit": 500})
    assert status == 200
    ends = [e["element_id"] for e in trail["items"]
            if e["action"] == "engine.step" and (e["element_id"] or "").startswith("end_")]
    status, documents = api.call("GET", f"/instances/{case['id']}/documents", window_clerk)
    assert status == 200
    status, course = api.call("GET", f"/instances/{case['id']}/course", window_clerk)
    assert status == 200
    _keep_notices(api, matter, scenario, documents["items"], window_clerk)
    return {"case": case, "done": done, "ends": ends, "messages": messages,
            "notices": [d["kind"] for d in documents["items"]], "course": course["items"]}


_KEPT: set[tuple[str, str, str]] = set()


def _keep_notices(api: Api, matter: dict, scenario: str, documents: list[dict], user: str) -> None:
    """TONGBAN_NOTICE_DIR set: the PDFs of the first case of each matter type, department nature and scenario,
    kept there to look at (notices differ by the matter's type and by who issues them)."""
    folder = os.environ.get("TONGBAN_NOTICE_DIR")
    nature = DEPARTMENTS[matter["department"]].get("nature") or "agency"
    if not folder or api.client is None or (matter["type"], nature, scenario) in _KEPT:
        return
    _KEPT.add((matter["type"], nature, scenario))
    target = Path(folder) / f"{matter['type']}-{nature}"
    target.mkdir(parents=True, exist_ok=True)
    for document in documents:
        response = api.client.get(f"/api/v1/documents/{document['id']}.pdf", headers=api.hall.auth(user))
        assert response.status_code == 200, response.data[:200]
        (target / f"{matter['code']}-{scenario}-{document['kind']}.pdf").write_bytes(response.data)


def expected_course(matter: dict, scenario: str) -> list[str]:
    """The case's legal course, event by event, on its way to the scenario's end."""
    head = ["received", *(["supplement_notice", "supplement_received"] if scenario.startswith("supplement") else [])]
    if scenario in ("not_accepted", "supplement_refused"):
        return [*head, "not_accepted", "closed"]
    special = ["special_started", "special_ended"] * len(matter["special_procedures"])
    if matter["kind"] == "reported":
        return [*head, "accepted", *special, "forwarded", "higher_replied", "decided", "delivered", "closed"]
    opinions = ["opinion"] * len(matter["co_departments"]) if matter["kind"] == "joint" else []
    return [*head, "accepted", *opinions, *special, "decided", "delivered", "closed"]


def special_in_law(matter: dict) -> list[dict]:
    """The record's special procedures that stop the clock (Art. 45 lists them, or a local rule is cited): only
    these are told to the applicant in a 特别程序告知书."""
    from app.hall.vocabulary import SPECIAL, special_basis

    procedures = matter["special_procedures"]
    return [p for p in procedures if special_basis({SPECIAL: p["name"]}, p["name"], procedures)]


def expected_notices(matter: dict, scenario: str) -> list[str]:
    """The notices (文书) a case of this kind issues on its way to the scenario's end."""
    head = ["receipt", *(["supplement"] if scenario.startswith("supplement") else [])]
    if scenario in ("not_accepted", "supplement_refused"):
        return [*head, "not_accepted"]
    accepted = [*head, "acceptance", *["special_procedure"] * len(special_in_law(matter))]
    if matter["kind"] == "reported":  # the higher authority's decision, told with its remedy, and its 送达回证
        return [*accepted, "higher_decision", "delivery"]
    if matter["kind"] == "immediate":
        return [*accepted, *(["refusal", "delivery"] if scenario == "refused" else ["completion", "delivery"])]
    return [*accepted, *(["refusal", "delivery"] if scenario == "refused" else ["delivery", "completion"])]


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_matter_runs_to_its_end(hall, guide, case):
    matter, scenario = case
    result = run_case(Api(hall, client=guide), matter, scenario)
    assert result["ends"] == [ENDS[scenario]]
    assert result["notices"] == expected_notices(matter, scenario)
    assert result["case"]["case_number"].startswith(matter["code"][:10])
    course = [e["kind"] for e in result["course"]]
    # the co-departments' opinions come in the order they are given: compared apart from the rest
    assert sorted(course, key=lambda k: k != "opinion") == sorted(expected_course(matter, scenario),
                                                                   key=lambda k: k != "opinion")
    assert [k for k in course if k != "opinion"] == [k for k in expected_course(matter, scenario) if k != "opinion"]
    decided = [e for e in result["course"] if e["kind"] in ("decided", "not_accepted")]
    assert decided and result["case"]["outcome"] == {"granted": "granted", "supplemented": "granted",
                                                     "refused": "refused", "approved": "higher_approved",
                                                     "supplemented_approved": "higher_approved",
                                                     "rejected": "higher_rejected"}.get(scenario, "not_accepted")
    if decided[0]["kind"] == "decided":
        authority = decided[0]["data"]["deciding_authority"]
        assert authority == (matter["higher_authority"] if matter["kind"] == "reported" else
                             next(d["legal_name"] for d in HALL["departments"] if d["code"] == matter["department"]))
    steps = [element for element, _, _ in result["done"]]
    lead = short(matter["department"])
    assert steps[0] == "accept"
    assert all(post.startswith(lead) or element.startswith("co_opinion_") for element, post, _ in result["done"])
    data = result["case"]["data"]

    if scenario.startswith("supplement"):
        assert steps[1:3] == ["supplement_notice", "supplement_check"]
        assert data["missing_materials"] == [m["name"] for m in matter["materials"]][:2]
    if scenario in ("not_accepted", "supplement_refused"):
        assert steps[-1] == "not_accepted" and data["reasons"]
        return

    accepted = steps[steps.index("supplement_check") + 1:] if scenario.startswith("supplement") else steps[1:]
    special = [s for s in accepted if s not in STANDARD_STEPS and not s.startswith("co_opinion_")]
    assert len(special) == len(matter["special_procedures"]), (special, matter["special_procedures"])
    posts = {element: post for element, post, _ in result["done"]}

    if matter["kind"] == "immediate":
        assert accepted == ["decide"] and posts["decide"] == f"{lead}受理A岗"
        assert data["decision"] == ("refuse" if scenario == "refused" else "grant")
    elif matter["kind"] in ("promised", "joint"):
        co = {f"co_opinion_{c}" for c in matter["co_departments"]}
        assert {s for s in accepted if s.startswith("co_opinion_")} == co
        for c in matter["co_departments"]:
            assert posts[f"co_opinion_{c}"] == f"{short(c)}审核岗"
        assert posts["review"] == f"{lead}审核岗" and posts["decide"] == f"{lead}审批岗"
        assert accepted[-1] == ("deliver_refusal" if scenario == "refused" else "deliver")
        assert accepted.index("decide") > max(accepted.index(s) for s in ["review", *co, *special])
    else:  # reported: first review, special procedures, forward, the higher authority's reply, inform
        assert accepted[0] == "first_review" and accepted[-2:] == ["forward", "inform"]
        assert result["messages"] == 1
        assert data["higher_decision"] == ("rejected" if scenario == "rejected" else "approved")
        assert data["forwarded_to"] == matter["higher_authority"]


def test_every_matter_and_kind_is_covered():
    assert len(MATTERS) == 90
    assert {m["kind"] for m in MATTERS} == set(SCENARIOS)
    assert any(m["special_procedures"] for m in MATTERS)
    assert any(m["kind"] == "reported" and m["special_procedures"] for m in MATTERS)
    assert any(m["kind"] == "joint" and m["special_procedures"] for m in MATTERS)


def _find(code: str) -> tuple[dict, Path]:
    matter = next(m for m in MATTERS if m["code"] == code)
    return matter, PROCESSES / matter["department"]


def test_one_whole_case_over_real_http(app, live_server):
    """Upload a joint matter's diagram and record over HTTP, read its guide without a token, run a case."""
    hall = seed_hall(app, load_processes=False)  # `live_server` emptied the tables: hall and forms only
    matter, folder = _find("32021300FG-XK-0004")  # joint (环保局, 财政局) with an expert review
    http = requests.Session()
    analyst = next(u["username"] for u in HALL["users"] if "analyst" in u["roles"])
    files = [("file", (f"{matter['code']}{suffix}", (folder / f"{matter['code']}{suffix}").read_bytes()))
             for suffix in (".bpmn", ".yaml")]
    deployed = http.post(f"{live_server}/api/v1/process-definitions", files=files, headers=hall.auth(analyst),
                         timeout=30)
    assert deployed.status_code == 201, deployed.text
    assert [m["code"] for m in deployed.json()["matters"]] == [matter["code"]]

    guide = http.get(f"{live_server}/api/v1/matters/{matter['code']}", timeout=10)
    assert guide.status_code == 200
    assert guide.json()["process"]["version"] == 1
    assert [c["code"] for c in guide.json()["handling_body"]["co_departments"]] == ["hbj", "czj"]

    result = run_case(Api(hall, base=live_server), matter, "granted")
    assert result["ends"] == ["end_granted"]
    steps = [s for s, _, _ in result["done"]]
    assert steps[0] == "accept" and steps[4:] == ["expert_review", "decide", "deliver"]
    assert sorted(steps[1:4]) == ["co_opinion_czj", "co_opinion_hbj", "review"]  # in parallel
