"""The real hall, forms and 90 matters, seeded once per module, and a desk that drives cases through the API.

Tests move the FakeClock (`clock` fixture) to Asia/Shanghai moments and call the supervision sweep directly,
as the server's scheduler does every minute.
"""

from __future__ import annotations

import itertools
from datetime import datetime
from pathlib import Path

import pytest

from app.clock import SHANGHAI
from app.extensions import db
from tests.matters.conftest import HALL, seeded_module

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SHORT = {d["code"]: d["short"] for d in HALL["departments"]}


_BUSINESS_KEYS = itertools.count(1)


def shanghai(year: int, month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def supervisor_of(department: str) -> str:
    post = f"{SHORT[department]}督查岗"
    return next(u["username"] for u in HALL["users"] if post in u.get("posts", []))


class Desk:
    """Starts cases, completes their tasks as the clerks holding the posts, sweeps, reads warnings."""

    def __init__(self, app, hall) -> None:
        self.app, self.hall, self.client = app, hall, app.test_client()
        self.admin = next(u["username"] for u in HALL["users"] if "admin" in u["roles"]) \
            if any("admin" in u["roles"] for u in HALL["users"]) else None
        self.ops = next(u["username"] for u in HALL["users"] if "ops" in u["roles"])
        self._serial = 0

    def call(self, method: str, path: str, user: str, json=None, params=None):
        response = self.client.open(f"/api/v1{path}", method=method, headers=self.hall.auth(user), json=json,
                                     query_string=params)
        return response.status_code, response.json

    def ok(self, method: str, path: str, user: str, json=None, params=None, status: int = 200):
        code, body = self.call(method, path, user, json=json, params=params)
        assert code == status, (method, path, code, body)
        return body

    def matters(self, **filters) -> list:
        """Matters from the database, sorted by code."""
        from app.matters.models import Matter

        with self.app.app_context():
            query = db.select(Matter).order_by(Matter.code)
            for name, value in filters.items():
                query = query.where(getattr(Matter, name) == value)
            rows = list(db.session.scalars(query))
            db.session.expunge_all()
            return rows

    def start(self, matter, data: dict | None = None) -> dict:
        self._serial = next(_BUSINESS_KEYS)  # unique across the module's tests: the hall's cases stay between them
        clerk = self.hall.holder(f"{SHORT[matter.department_code]}受理A岗")
        business_key = f"{matter.code}-{self._serial:04d}"
        return self.ok("POST", f"/process-definitions/{matter.process_key}/instances", clerk, status=201,
                       json={"business_key": business_key, "data": {"applicant": "无锡某某有限公司", **(data or {})}})

    def case(self, instance_id: str) -> dict:
        return self.ok("GET", f"/instances/{instance_id}", self.ops)

    def task(self, instance_id: str, element_id: str) -> dict:
        tasks = [t for t in self.case(instance_id)["tasks"] if t["element_id"] == element_id]
        assert len(tasks) == 1, (element_id, self.case(instance_id)["tasks"])
        return tasks[0]

    def complete(self, instance_id: str, element_id: str, data: dict, user: str | None = None) -> dict:
        task = self.task(instance_id, element_id)
        user = user or task["assignee"] or self.hall.holder(task["post"])
        if task["assignee"] is None:
            self.ok("POST", f"/tasks/{task['id']}/claim", user)
        if data.get("outcome") == "accept" and not data.get("materials"):  # intake: every required material
            checklist = self.ok("GET", f"/tasks/{task['id']}", user)["prefill"].get("materials", [])
            data = {**data, "materials": [{"name": m["name"], "received": True} for m in checklist]}
        return self.ok("POST", f"/tasks/{task['id']}/complete", user, json={"data": data})

    def clock_of(self, instance_id: str) -> dict:
        return self.ok("GET", f"/instances/{instance_id}/clock", self.ops)

    def sweep(self) -> dict:
        from app.hall.supervision import service

        with self.app.app_context():
            try:
                return service.sweep()
            finally:
                db.session.remove()

    def warnings(self, user: str | None = None, **params) -> list[dict]:
        params.setdefault("limit", 500)
        return self.ok("GET", "/supervision/warnings", user or self.ops, params=params)["items"]


ACCEPT = {"outcome": "accept", "receipt_no": "SJ-0001", "materials": []}
REVIEW = {"opinion": "经审核，申请材料齐全，符合法定条件。", "recommendation": "grant"}
GRANT = {"decision": "grant", "opinion": "准予。", "result_no": "ZZ-0001"}
DELIVER = {"method": "on_site", "receipt_no": "SD-0001"}
SITE_SURVEY = {"findings": "现场与申报材料一致。", "conclusion": "pass", "surveyors": ["甲", "乙"]}


@pytest.fixture(scope="module")
def hall(make_app):
    """The hall, forms/ and processes/ (90 matters), once for the module; emptied afterwards."""
    with seeded_module(make_app) as seeded:
        yield seeded


@pytest.fixture()
def desk(app, hall) -> Desk:
    return Desk(app, hall)
