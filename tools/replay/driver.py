"""The calls a clerk makes, over the Flask test client (the whole WSGI stack, in this process) or a real server,
and valid submissions for every form of the hall's diagrams."""

from __future__ import annotations

import threading
import time

import requests

from .hall import Hall, short  # noqa: F401  (short: re-exported for the tests)

BUSY_TRIES = 20  # 409 busy (another writer holds the case, SQLite's lock): tried again, as a client should


class Api:
    """The calls a case needs, over the Flask test client or a real HTTP server."""

    def __init__(self, hall: Hall, client=None, base: str | None = None) -> None:
        self.hall, self.client, self.base = hall, client, base
        self._local = threading.local()
        self.requests = 0
        self.busy = 0

    @property
    def http(self) -> requests.Session | None:
        if self.base is None:
            return None
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def call(self, method: str, path: str, user: str, json=None, params=None) -> tuple[int, dict]:
        for attempt in range(BUSY_TRIES):
            status, body = self._once(method, path, user, json, params)
            self.requests += 1
            if status != 409 or not isinstance(body, dict) or body.get("code") != "busy":
                return status, body
            self.busy += 1
            time.sleep(0.05 * (attempt + 1))
        return status, body

    def _once(self, method, path, user, json, params) -> tuple[int, dict]:
        headers = self.hall.auth(user)
        if self.base is not None:
            response = self.http.request(method, f"{self.base}/api/v1{path}", headers=headers, json=json,
                                         params=params, timeout=60)
            return response.status_code, response.json()
        response = self.client.open(f"/api/v1{path}", method=method, headers=headers, json=json,
                                    query_string=params)
        return response.status_code, response.json


def form_data(form_key: str, matter: dict, scenario: str, data: dict) -> dict:
    """Valid submissions for each form, steering the case to the scenario's end.

    Scenarios: granted, refused, not_accepted, supplemented, approved, rejected, supplemented_approved,
    supplement_refused. `data`: what the case holds so far (the missing materials, the higher authority's reply).
    """
    missing = data.get("missing_materials") or [m["name"] for m in matter["materials"]][:2]
    if form_key == "accept":
        if scenario.startswith("supplement"):
            return {"outcome": "supplement", "missing_materials": missing}
        if scenario == "not_accepted":
            return {"outcome": "not_accepted", "reasons": "申请事项不属于本机关职权范围，请向有关行政机关申请。"}
        return {"outcome": "accept", "receipt_no": "SJ-0001",
                "materials": [{"name": m["name"], "received": True, "originals": m.get("originals", 0),
                               "copies": m.get("copies", 0)} for m in matter["materials"]]}
    if form_key == "supplement_notice":
        return {"missing_materials": missing, "method": "sms", "notice_no": "BZ-0001"}
    if form_key == "supplement_check":
        if scenario == "supplement_refused":
            return {"outcome": "not_accepted", "reasons": "申请人逾期未补正全部材料。"}
        return {"outcome": "complete", "received_materials": missing}
    if form_key == "not_accepted":
        return {"reasons": data.get("reasons") or "不符合受理条件。", "notice_no": "BY-0001"}
    if form_key == "review":
        refuse = scenario in ("refused", "rejected")
        return {"opinion": "经审核，申请材料不符合法定条件。" if refuse else "经审核，申请材料齐全，符合法定条件。",
                "recommendation": "refuse" if refuse else "grant"}
    if form_key == "co_opinion":
        if scenario == "dissent":
            return {"opinion": "不同意：项目选址与本部门管理要求不符，请牵头部门协调。", "agree": False}
        return {"opinion": "同意，请牵头部门依法办理。", "agree": True}
    if form_key == "coordinate":
        if scenario == "refused":
            return {"coordination": "refuse", "opinion": "协调不成。", "reasons": "会办部门意见不一致且无法协调，依法不予许可。",
                    "remedy": "可在六十日内申请行政复议，或在六个月内提起行政诉讼。"}
        return {"coordination": "resolved", "opinion": "经协调，意见一致，继续审批。"}
    if form_key == "decide":
        if scenario == "refused":
            return {"decision": "refuse", "reasons": "申请人不具备法定条件，依法不予许可。",
                    "remedy": "可在六十日内申请行政复议，或在六个月内提起行政诉讼。"}
        return {"decision": "grant", "opinion": "准予。", "result_no": "ZZ-0001"}
    if form_key == "deliver":
        return {"method": "on_site", "receipt_no": "SD-0001"}
    if form_key == "forward":
        return {"forwarded_to": matter["higher_authority"], "opinion": "初审同意，报请审批。"}
    if form_key == "inform":
        return {"higher_decision": data["higher_decision"], "method": "sms"}
    if form_key == "site_survey":
        return {"findings": "现场与申报材料一致。", "conclusion": "pass", "surveyors": ["甲", "乙"]}
    if form_key == "expert_review":
        return {"opinion": "专家组同意通过。", "conclusion": "pass", "experts": ["专家甲", "专家乙", "专家丙"]}
    if form_key == "inspection":
        return {"result": "检验合格。", "conclusion": "pass"}
    if form_key == "hearing":
        return {"record": "听证笔录已存档。", "conclusion": "pass"}
    if form_key == "special_procedure":
        return {"result": "已完成。", "conclusion": "pass"}
    if form_key == "supervise":
        return {"action": "urge", "note": "已催办承办人，请于今日内办结。"}
    raise AssertionError(f"no data for form {form_key}")
