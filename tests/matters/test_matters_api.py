"""The public matter guide: GET /api/v1/matters and /api/v1/matters/{code}, no token needed."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.matters.conftest import catalog

MATTERS = {m["code"]: m for m in catalog()}
NINE = ("handling_body", "procedure", "legal_basis", "materials", "promised_days", "fee_basis", "fee_standard",
        "result", "acceptance_conditions")


def _list(guide, **query):
    response = guide.get("/api/v1/matters", query_string=query)  # no Authorization header
    assert response.status_code == 200, response.json
    return response.json


def test_the_whole_catalog_is_listed_without_a_token(guide):
    body = _list(guide, limit=500)
    assert body["total"] == 90 and len(body["items"]) == 90 and body["catalog_year"] == 2008
    assert {i["state"] for i in body["items"]} == {"active"}
    assert _list(guide, state="all")["total"] == 90 and _list(guide, state="cancelled")["total"] == 0
    item = next(i for i in body["items"] if i["code"] == "32021300FG-BA-0001")
    assert {k: item[k] for k in ("name", "department", "department_name", "kind", "type", "promised_days")} == {
        "name": "企业投资项目备案", "department": "fgj", "department_name": "区发改局", "kind": "promised",
        "type": "行政备案", "promised_days": 3}
    assert item["kind_name"] == "承诺件"


def test_paging(guide):
    first = _list(guide, limit=10)
    second = _list(guide, limit=10, offset=10)
    assert first["total"] == second["total"] == 90
    assert len(first["items"]) == len(second["items"]) == 10
    assert not {i["code"] for i in first["items"]} & {i["code"] for i in second["items"]}
    assert [i["code"] for i in first["items"]] == sorted(MATTERS)[:10]


def test_filter_by_department_and_kind(guide):
    per_department = Counter(m["department"] for m in MATTERS.values())
    body = _list(guide, department="wsj", limit=500)
    assert body["total"] == per_department["wsj"] > 0
    assert {(i["department"], i["department_name"]) for i in body["items"]} == {("wsj", "卫生局")}

    per_kind = Counter(m["kind"] for m in MATTERS.values())
    for kind, count in per_kind.items():
        listed = _list(guide, kind=kind, limit=500)
        assert listed["total"] == count and {i["kind"] for i in listed["items"]} == {kind}

    both = _list(guide, department="fgj", kind="joint", limit=500)
    assert both["total"] == sum(1 for m in MATTERS.values() if m["department"] == "fgj" and m["kind"] == "joint")
    assert _list(guide, department="nowhere")["total"] == 0


def test_keyword_in_chinese_and_in_the_code(guide):
    body = _list(guide, keyword="卫生许可", limit=500)
    expected = sorted(code for code, m in MATTERS.items() if "卫生许可" in m["name"])
    assert expected and [i["code"] for i in body["items"]] == expected

    by_code = _list(guide, keyword="fg-xk", limit=500)  # case-insensitive, part of the code
    assert by_code["total"] == sum(1 for code in MATTERS if "FG-XK" in code) > 0
    assert _list(guide, keyword="  企业投资项目备案 ")["items"][0]["code"] == "32021300FG-BA-0001"
    assert _list(guide, keyword="%")["total"] == 0  # LIKE wildcards are taken literally
    assert _list(guide, keyword="_")["total"] == 0


def test_bad_filters_are_422_json(guide):
    response = guide.get("/api/v1/matters", query_string={"kind": "urgent"})
    assert response.status_code == 422
    assert response.json["code"] == "invalid" and "kind" in str(response.json["details"])
    assert guide.get("/api/v1/matters", query_string={"limit": 0}).status_code == 422


@pytest.mark.parametrize("code", ["32021300FG-BA-0001", "32021300FG-XK-0004", "32021300HB-XK-0004",
                                  "32021300FG-BA-0002", "32021300WS-XK-0006"])
def test_detail_has_the_nine_disclosures_and_the_rest_of_the_record(guide, code):
    matter = MATTERS[code]
    response = guide.get(f"/api/v1/matters/{code}")
    assert response.status_code == 200, response.json
    body = response.json
    assert set(NINE) <= set(body)
    for key in NINE[1:]:
        assert body[key] == matter[key], key
    for key in ("name", "type", "kind", "statutory_days", "special_procedures", "place", "hours", "visits",
                "consultation", "complaint", "online", "green_channel", "fee_charged", "co_departments",
                "higher_authority", "statutory_basis"):
        assert body[key] == matter[key], key
    assert body["effective_from"] == matter["effective_from"].isoformat() and body["cancelled_on"] is None
    assert body["state"] == "active" and body["extra"] == {}
    assert body["department"] == matter["department"]
    assert body["process_key"] == "matter_" + code.replace("-", "_")
    assert body["process"]["key"] == body["process_key"] and body["process"]["version"] == 1
    body_of = body["handling_body"]
    assert body_of["department"] == matter["department"] and body_of["department_name"] in body_of["text"]
    assert [c["code"] for c in body_of["co_departments"]] == matter["co_departments"]
    assert body_of["higher_authority"] == matter["higher_authority"]


def test_handling_body_names_co_departments_and_higher_authority(guide):
    joint = guide.get("/api/v1/matters/32021300FG-XK-0004").json["handling_body"]
    assert joint["text"] == "区发改局（牵头）会同环保局、财政局联合办理"
    assert joint["co_departments"] == [{"code": "hbj", "name": "环保局"}, {"code": "czj", "name": "财政局"}]
    reported = guide.get("/api/v1/matters/32021300HB-XK-0004").json["handling_body"]
    assert reported["higher_authority"] == "江苏省环境保护厅" and "江苏省环境保护厅" in reported["text"]


def test_unknown_matter_is_404_json(guide):
    response = guide.get("/api/v1/matters/32021300FG-BA-9999")
    assert response.status_code == 404
    assert response.json == {"code": "not_found", "message": "事项 32021300FG-BA-9999 不存在",
                             "details": {"code": "32021300FG-BA-9999"}}


def test_the_guide_is_in_the_openapi_document(guide):
    spec = guide.get("/api/openapi.json").json
    assert "/api/v1/matters" in spec["paths"] and "/api/v1/matters/{code}" in spec["paths"]
    assert spec["paths"]["/api/v1/matters"]["get"]["security"] == []  # public: no token (bearerAuth elsewhere)
