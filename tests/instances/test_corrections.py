"""Corrections at the window: 更正申请人 before acceptance (checked as at intake, audited with the old and new
record), 撤件 with its 撤件登记 (by the receiving clerk or the department's supervisor), each with a reason."""

from __future__ import annotations

from tests.documents.conftest import APPLICANT, pdf_text

FG = "32021300FG-BA-0001"
FIXED = {**APPLICANT, "name": "无锡市某某机械制造股份有限公司", "phone": "0510-85239999"}


def test_correct_the_applicant_before_acceptance(window):
    fg = window.matter(FG)
    clerk = window.clerk(fg)
    case = window.start(fg)
    path = f"/instances/{case['id']}/applicant"
    # no reason, a bad ID: 422, nothing changed
    code, body = window.call("PUT", path, clerk, json={"applicant": FIXED, "reason": ""})
    assert code == 422
    code, body = window.call("PUT", path, clerk, json={"applicant": {**FIXED, "id_number": "12345678-0"},
                                                       "reason": "名称录入错误"})
    assert code == 422 and body["details"]["errors"][0]["field"] == "applicant.id_number"
    assert window.case(case["id"])["applicant"]["name"] == APPLICANT["name"]
    # another department's clerk does not learn the case exists
    other = window.hall.holder("卫生局受理A岗")
    assert window.call("PUT", path, other, json={"applicant": FIXED, "reason": "x"})[0] == 404

    corrected = window.ok("PUT", path, clerk, json={"applicant": FIXED, "reason": "名称录入错误"})
    assert corrected["name"] == FIXED["name"] and corrected["phone"] == FIXED["phone"]
    assert window.ok("GET", f"/instances/{case['id']}", clerk)["applicant"]["name"] == FIXED["name"]
    entry = [e for e in window.ok("GET", f"/instances/{case['id']}/audit", clerk)["items"]
             if e["action"] == "intake.applicant_corrected"][0]
    assert entry["details"]["reason"] == "名称录入错误"
    assert entry["details"]["before"]["name"] == APPLICANT["name"] and entry["details"]["after"]["name"] == FIXED["name"]
    # the acceptance notice prints the corrected applicant; after it, no more corrections
    window.complete(case["id"], "accept", window.accept_all(fg))
    acceptance = [d for d in window.documents(case["id"]) if d["kind"] == "acceptance"][0]
    assert FIXED["name"] in pdf_text(window.pdf(acceptance))
    code, body = window.call("PUT", path, clerk, json={"applicant": APPLICANT, "reason": "再改"})
    assert code == 409 and "已受理" in body["message"]


def test_withdraw_a_case_received_in_error(window):
    fg = window.matter(FG)
    clerk = window.clerk(fg)
    case = window.start(fg)
    path = f"/instances/{case['id']}/withdraw"
    # a colleague at the same window who did not receive it may not withdraw it; nor may ops
    colleague = next(u for u in ("chenxiaodong", "wuqian") if u != clerk)
    assert window.call("POST", path, colleague, json={"reason": "误收"})[0] == 403
    assert window.call("POST", path, clerk, json={"reason": "  "})[0] == 422
    done = window.ok("POST", path, clerk, json={"reason": "申请人申请撤回，材料当场退还", "requested_by": "李某",
                                                "requested_on": "2026-11-25"})
    assert done["state"] == "cancelled" and done["tasks"] == []
    assert done["withdrawal"]["title"] == "撤件登记" and "撤" in done["withdrawal"]["number"]
    text = pdf_text(window.pdf(done["withdrawal"], clerk))
    assert "申请人申请撤回" in text and "李某" in text and case["case_number"] in text
    actions = [e["action"] for e in window.ok("GET", f"/instances/{case['id']}/audit", clerk)["items"]]
    assert "case.withdrawn" in actions and "instance.withdrawn" in actions
    course = window.ok("GET", f"/instances/{case['id']}/course", clerk)["items"]
    assert [e["kind"] for e in course][-2:] == ["withdrawn", "closed"]
    assert window.ok("GET", f"/instances/{case['id']}", clerk)["outcome"] == "withdrawn"
    code, body = window.call("POST", path, clerk, json={"reason": "再撤"})
    assert code == 409
    # the department's supervisor may withdraw a case the clerk received
    second = window.start(fg)
    boss = window.hall.holder("发改局督查岗")
    assert window.ok("POST", f"/instances/{second['id']}/withdraw", boss, json={"reason": "误收"})["state"] \
        == "cancelled"
    # the applicant's status lookup says so
    status = window.client.post("/api/v1/case-status", json={"case_number": case["case_number"],
                                                             "query_code": case["query_code"]})
    assert status.json["state"] == "cancelled"
