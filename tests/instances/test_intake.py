"""Intake: applicants, case numbers (also under concurrent starts), query codes, one open case per business key,
and the acceptance checklist drawn from the matter's materials (real hall, real matters, through the API)."""

from __future__ import annotations

import threading
from datetime import datetime

import pytest
import requests

from app.clock import SHANGHAI
from app.extensions import db
from tests.documents.conftest import APPLICANT

PROMISED = "32021300CG-XK-0001"  # 城市道路挖掘许可: 7 materials, 6 required


def test_case_numbers_per_department_and_day(window, clock):
    clock.set(datetime(2026, 12, 2, 9, 0, tzinfo=SHANGHAI))
    cgj, fgj = window.matter(PROMISED), window.matter("32021300FG-BA-0001")
    first, second, other = window.start(cgj), window.start(cgj), window.start(fgj)
    assert first["case_number"] == "32021300CG202612020001"
    assert second["case_number"] == "32021300CG202612020002"
    assert other["case_number"] == "32021300FG202612020001"
    clock.set(datetime(2026, 12, 3, 0, 30, tzinfo=SHANGHAI))  # just after midnight in Shanghai (16:30 UTC before)
    assert window.start(cgj)["case_number"] == "32021300CG202612030001"

    found = window.ok("GET", "/instances", window.clerk(cgj), params={"case_number": second["case_number"]})
    assert [c["id"] for c in found["items"]] == [second["id"]] and found["items"][0]["case_number"]
    detail = window.case(second["id"])
    assert detail["case_number"] == second["case_number"]
    assert detail["applicant"]["name"] == APPLICANT["name"]
    assert detail["applicant"]["id_number"] != APPLICANT["id_number"]  # ops: identifiers masked
    mine = window.ok("GET", f"/instances/{second['id']}", window.clerk(cgj))
    assert mine["applicant"]["agent"]["id_number"] == APPLICANT["agent"]["id_number"]


def test_applicant_is_checked_with_chinese_messages(window, clock):
    matter = window.matter(PROMISED)
    bad = {"kind": "person", "name": "", "id_type": "resident_id", "id_number": "320211199001011230",
           "phone": "12345", "agent": {"name": "李某", "id_type": "passport", "id_number": "E1", "phone": "13812345678"}}
    body = window.start(matter, applicant=bad, status=422)
    errors = {e["field"]: e["message"] for e in body["details"]["errors"]}
    assert errors["applicant.name"] == "必填项缺失：申请人名称"
    assert "校验位" in errors["applicant.id_number"]
    assert "手机号" in errors["applicant.phone"]
    assert "applicant.agent.id_number" in errors
    body = window.start(matter, applicant={**APPLICANT, "kind": "company", "shoe_size": 42}, status=422)
    fields = [e["field"] for e in body["details"]["errors"]]
    assert "applicant.kind" in fields and "applicant.shoe_size" in fields
    # a case started without an applicant is still received (the applicant's name may be in the data)
    assert window.start(matter, applicant=None)["case_number"]


def test_query_code_checks_and_is_stored_only_as_a_digest(window, clock):
    from app.hall.models import CaseIntake

    matter = window.matter(PROMISED)
    case = window.start(matter)
    code = case["query_code"]
    assert len(code.replace("-", "")) == 10 and not set(code) & set("01OI")
    status = window.client.post("/api/v1/case-status", json={"case_number": case["case_number"], "query_code": code})
    assert status.status_code == 200, status.json
    assert status.json["status"] == "已收件，待受理审查" and status.json["matter"] == matter.name
    assert status.json["current_steps"] == ["受理"] and status.json["outcome_name"] is None  # names only
    assert APPLICANT["name"] not in str(status.json)
    wrong = window.client.post("/api/v1/case-status", json={"case_number": case["case_number"],
                                                            "query_code": "AAAA-BBBB-CC"})
    assert wrong.status_code == 404
    assert window.client.post("/api/v1/case-status", json={"case_number": "nope", "query_code": code}).status_code \
        == 404
    with window.app.app_context():
        row = db.session.get(CaseIntake, case["id"])
        stored = [str(getattr(row, c.key)) for c in CaseIntake.__table__.columns]
        assert not any(code in value or code.replace("-", "") in value for value in stored)
    assert code not in window.case(case["id"])["data"].values()
    again = window.start(matter)
    assert again["query_code"] != code

    # a lost code: a new one and a new receipt; the old one stops working
    clerk = window.clerk(matter)
    assert window.call("POST", f"/instances/{case['id']}/query-code", clerk, json={"foo": 1})[0] == 422
    reset = window.ok("POST", f"/instances/{case['id']}/query-code", clerk)
    assert reset["query_code"] != code and reset["receipt"]["kind"] == "receipt"
    assert window.client.post("/api/v1/case-status", json={"case_number": case["case_number"],
                                                           "query_code": code}).status_code == 404
    assert window.client.post("/api/v1/case-status", json={"case_number": case["case_number"],
                                                           "query_code": reset["query_code"].lower()}).status_code == 200
    outsider = window.hall.holder("卫生局受理A岗")
    assert window.call("POST", f"/instances/{case['id']}/query-code", outsider)[0] == 404


def test_second_open_case_with_the_same_business_key_is_refused(window, clock):
    matter = window.matter(PROMISED)
    first = window.start(matter, business_key="CG-2026-DUP-1")
    body = window.start(matter, business_key="CG-2026-DUP-1", status=409)
    assert body["code"] == "duplicate_business_key" and body["details"]["case_number"] == first["case_number"]
    other = window.matter("32021300CG-XK-0002")
    window.start(other, business_key="CG-2026-DUP-1")  # another matter: its own business
    boss = window.hall.holder("城管局督查岗")
    window.ok("POST", f"/instances/{first['id']}/cancel", boss, json={"reason": "申请人撤回"})
    window.start(matter, business_key="CG-2026-DUP-1")  # the first is no longer open


def test_accepting_needs_every_required_material(window, clock):
    matter = window.matter(PROMISED)
    required = [m["name"] for m in matter.materials if m["required"]]
    case = window.start(matter)
    accept = window.task(case["id"], "accept")
    clerk = window.clerk(matter)
    prefill = window.ok("GET", f"/tasks/{accept['id']}", clerk)["prefill"]
    assert [m["name"] for m in prefill["materials"]] == [m["name"] for m in matter.materials]
    assert [m["required"] for m in prefill["materials"]] == [m["required"] for m in matter.materials]

    body = window.complete(case["id"], "accept", {"outcome": "accept", "materials": [
        {"name": required[0], "received": True}, {"name": required[1], "received": False}]}, status=422)
    assert body["code"] == "materials_missing" and body["details"]["missing_materials"] == required[1:]
    assert all(name in body["message"] for name in required[1:])
    body = window.complete(case["id"], "accept", {"outcome": "accept"}, status=422)  # no checklist at all
    assert body["details"]["missing_materials"] == required

    # 补正: the missing ones derived from the checklist; the notice prefilled and checked (一次性告知)
    window.complete(case["id"], "accept", {"outcome": "supplement", "materials": [
        {"name": name, "received": True} for name in required[:4]]})
    notice = window.task(case["id"], "supplement_notice")
    assert window.ok("GET", f"/tasks/{notice['id']}", clerk)["prefill"] == {"missing_materials": required[4:]}
    body = window.complete(case["id"], "supplement_notice", {"missing_materials": required[5:]}, status=422)
    assert required[4] in body["message"]
    window.complete(case["id"], "supplement_notice", {"method": "phone"})
    assert window.case(case["id"])["data"]["missing_materials"] == required[4:]
    body = window.complete(case["id"], "supplement_check", {"outcome": "complete",
                                                           "received_materials": required[4:5]}, status=422)
    assert body["details"]["missing_materials"] == required[5:]
    window.complete(case["id"], "supplement_check", {"outcome": "complete", "received_materials": required[4:]})
    assert window.task(case["id"], "review")


def test_supplement_needs_something_to_supplement(window, clock):
    matter = window.matter(PROMISED)
    case = window.start(matter)
    body = window.complete(case["id"], "accept", {"outcome": "supplement", "materials": [
        {"name": m["name"], "received": True} for m in matter.materials]}, status=422)
    assert body["code"] == "materials_missing"
    body = window.complete(case["id"], "accept", {"outcome": "supplement"}, status=422)  # the form says so
    assert body["details"]["form"] == "accept"


@pytest.fixture()
def one_matter_server(app, live_server):
    """A real HTTP server with the hall and one matter (the live_server fixture empties the tables)."""
    from tests.matters.conftest import HALL, PROCESSES, seed_hall

    seeded = seed_hall(app, load_processes=False)
    analyst = next(u["username"] for u in HALL["users"] if "analyst" in u["roles"])
    files = [("file", (f"{PROMISED}{suffix}", (PROCESSES / "cgj" / f"{PROMISED}{suffix}").read_bytes()))
             for suffix in (".bpmn", ".yaml")]
    response = requests.post(f"{live_server}/api/v1/process-definitions", files=files,
                             headers=seeded.auth(analyst), timeout=30)
    assert response.status_code == 201, response.text
    return live_server, seeded


def test_concurrent_starts_get_distinct_numbers(one_matter_server):
    base, seeded = one_matter_server
    clerk = seeded.holder("城管局受理A岗")
    results: list[tuple[int, dict]] = []

    def start(n: int) -> None:
        response = requests.post(f"{base}/api/v1/process-definitions/matter_32021300CG_XK_0001/instances",
                                 json={"business_key": f"RACE-{n}", "applicant": APPLICANT},
                                 headers=seeded.auth(clerk), timeout=60)
        results.append((response.status_code, response.json()))

    threads = [threading.Thread(target=start, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [code for code, _ in results] == [201] * 8, results
    numbers = sorted(body["case_number"] for _, body in results)
    day = numbers[0][10:18]
    assert numbers == [f"32021300CG{day}{n:04d}" for n in range(1, 9)]
    receipts = sorted(body["documents"][0]["number"] for _, body in results)
    assert len(set(receipts)) == 8

    # the same business key at once: one case, the others 409
    results.clear()
    threads = [threading.Thread(target=lambda: start(99)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(code for code, _ in results) == [201, 409, 409, 409], results
