"""The real hall and its 90 matters, seeded once per module, and a window that receives and runs cases."""

from __future__ import annotations

import io
import itertools
import re

import pytest

from app.extensions import db
from tests.matters.conftest import HALL, seed_hall

SHORT = {d["code"]: d["short"] for d in HALL["departments"]}
APPLICANT = {"kind": "organisation", "name": "无锡市某某机械制造有限公司", "id_type": "org_code",
             "id_number": "12345678-8", "phone": "0510-85231234", "address": "无锡市某区某路 8 号",
             "legal_representative": "王某某",
             "agent": {"name": "李某", "id_type": "resident_id", "id_number": "32021119900101123X",
                       "phone": "13812345678"}}


def org_code_check(base: str) -> str:
    total = sum(int(c, 36) * w for c, w in zip(base, (3, 7, 9, 10, 5, 8, 4, 2), strict=True))
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


def resident_id(base17: str) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return base17 + "10X98765432"[sum(int(d) * w for d, w in zip(base17, weights, strict=True)) % 11]


APPLICANT["id_number"] = f"12345678-{org_code_check('12345678')}"
APPLICANT["agent"]["id_number"] = resident_id("32021119900101123")


def pdf_text(content: bytes) -> str:
    """The text of a PDF, without the line breaks and spaces layout puts in."""
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(content))
    text = "".join(page.extract_text() or "" for page in reader.pages)
    return re.sub(r"[\s\x00]+", "", text)  # pypdf reads fpdf2's two-byte CIDs with a NUL before each character


class Window:
    """Receives cases at the department's window and does every task as the clerk holding its post."""

    def __init__(self, app, hall) -> None:
        self.app, self.hall, self.client = app, hall, app.test_client()
        self.ops = next(u["username"] for u in HALL["users"] if "ops" in u["roles"])

    def call(self, method: str, path: str, user: str, json=None, params=None):
        response = self.client.open(f"/api/v1{path}", method=method, headers=self.hall.auth(user), json=json,
                                     query_string=params)
        return response.status_code, (response.json if response.is_json else response.data)

    def ok(self, method: str, path: str, user: str, json=None, params=None, status: int = 200):
        code, body = self.call(method, path, user, json=json, params=params)
        assert code == status, (method, path, code, body)
        return body

    def matter(self, code: str):
        from app.matters.models import Matter

        with self.app.app_context():
            row = db.session.get(Matter, code)
            db.session.expunge(row)
            return row

    def clerk(self, matter) -> str:
        return self.hall.holder(f"{SHORT[matter.department_code]}受理A岗")

    def start(self, matter, *, applicant=APPLICANT, business_key: str | None = None, status: int = 201, **body):
        payload = {"business_key": business_key or f"{matter.code}-{next(_serials):04d}",
                   "data": {"applicant": (applicant or {}).get("name", "某申请人")}, **body}
        if applicant is not None:
            payload["applicant"] = applicant
        return self.ok("POST", f"/process-definitions/{matter.process_key}/instances", self.clerk(matter),
                       json=payload, status=status)

    def case(self, instance_id: str) -> dict:
        return self.ok("GET", f"/instances/{instance_id}", self.ops)

    def task(self, instance_id: str, element_id: str) -> dict:
        tasks = [t for t in self.case(instance_id)["tasks"] if t["element_id"] == element_id]
        assert len(tasks) == 1, (element_id, self.case(instance_id)["tasks"])
        return tasks[0]

    def complete(self, instance_id: str, element_id: str, data: dict, status: int = 200) -> dict:
        task = self.task(instance_id, element_id)
        user = task["assignee"] or self.hall.holder(task["post"])
        if task["assignee"] is None:
            self.ok("POST", f"/tasks/{task['id']}/claim", user)
        return self.ok("POST", f"/tasks/{task['id']}/complete", user, json={"data": data}, status=status)

    def accept_all(self, matter) -> dict:
        return {"outcome": "accept", "materials": [{"name": m["name"], "received": True} for m in matter.materials]}

    def documents(self, instance_id: str, user: str | None = None) -> list[dict]:
        return self.ok("GET", f"/instances/{instance_id}/documents", user or self.ops)["items"]

    def pdf(self, document: dict, user: str | None = None, **params) -> bytes:
        response = self.client.get(document["url"], headers=self.hall.auth(user or self.ops), query_string=params)
        assert response.status_code == 200, response.json
        assert response.mimetype == "application/pdf"
        return response.data


@pytest.fixture(scope="module")
def hall(request):
    """The real hall seeded once for the module, with either test harness: one app per run (`app`, session
    scope) or an app per test on one database (`make_app`, with tests.matters.conftest.seeded_module)."""
    from tests.conftest import _empty_tables

    if "make_app" in request.fixturenames or _has_fixture(request, "make_app"):
        from tests.matters.conftest import seeded_module

        with seeded_module(request.getfixturevalue("make_app")) as seeded:
            yield seeded
        return
    app = request.getfixturevalue("app")
    seeded = seed_hall(app)
    yield seeded
    with app.app_context():
        _empty_tables()
        db.session.remove()


def _has_fixture(request, name: str) -> bool:
    try:
        return bool(request._fixturemanager.getfixturedefs(name, request.node))
    except Exception:  # pytest internals differ: fall back to the app fixture
        return False


_serials = itertools.count(1)  # business keys unique across the module's tests, whatever the app's scope


@pytest.fixture()
def window(app, hall) -> Window:
    return Window(app, hall)
