"""The conformance suite's driver: each diagram deployed and run to its end through real HTTP.

Every test reads like a modeler's acceptance check: deploy the diagram as Camunda Modeler wrote it, start a
case, do what the people and events of that diagram do (complete tasks, send messages and signals, move the
clock), and compare the sequence of user tasks, the data and the end state with what BPMN (and raw
SpiffWorkflow) gives.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

DIAGRAMS = Path(__file__).parent / "diagrams"


def forget_live_cases() -> None:
    """As if the next request went to another server process: cases and specs are read from the database."""
    from app.definitions import service as definitions
    from app.instances import runtime

    runtime.cache.clear()
    definitions._compiled.clear()


class Driver:
    def __init__(self, base: str, people, clock) -> None:
        self.api = f"{base}/api/v1"
        self.people = people
        self.clock = clock
        self.http = requests.Session()

    def _headers(self, user: str) -> dict[str, str]:
        forget_live_cases()  # every step restores its case from what the previous one stored
        return self.people.auth(user)

    def deploy(self, *names: str, expect: int | tuple = (200, 201), user: str = "analyst") -> dict:
        files = [("file", (name.rsplit("/", 1)[-1], (DIAGRAMS / name).read_bytes())) for name in names]
        response = self.http.post(f"{self.api}/process-definitions", files=files, headers=self._headers(user))
        expected = expect if isinstance(expect, tuple) else (expect,)
        assert response.status_code in expected, response.text
        return response.json()

    def start(self, key: str, data: dict | None = None, business_key: str | None = None, expect: int = 201) -> dict:
        body = {"data": data or {}, **({"business_key": business_key} if business_key else {})}
        response = self.http.post(f"{self.api}/process-definitions/{key}/instances", json=body,
                                  headers=self._headers("admin"))
        assert response.status_code == expect, response.text
        return response.json()

    def case(self, case_id: str) -> dict:
        response = self.http.get(f"{self.api}/instances/{case_id}", headers=self._headers("admin"))
        assert response.status_code == 200, response.text
        return response.json()

    def tasks(self, case_id: str) -> list[dict]:
        response = self.http.get(f"{self.api}/tasks", params={"instance": case_id, "limit": 200},
                                 headers=self._headers("admin"))
        assert response.status_code == 200, response.text
        return response.json()["items"]

    def open_elements(self, case_id: str) -> list[str]:
        return sorted(t["element_id"] for t in self.tasks(case_id))

    def complete(self, case_id: str, element: str, data: dict | None = None, expect: int = 200,
                 user: str = "admin") -> dict:
        candidates = [t for t in self.tasks(case_id) if t["element_id"] == element]
        assert candidates, f"no open task {element}; open: {self.open_elements(case_id)}"
        response = self.http.post(f"{self.api}/tasks/{candidates[0]['id']}/complete", json={"data": data or {}},
                                  headers=self._headers(user))
        assert response.status_code == expect, response.text
        return response.json()

    def message(self, name: str, data: dict | None = None, expect: int = 200, **correlation) -> dict:
        response = self.http.post(f"{self.api}/messages", json={"name": name, "data": data or {}, **correlation},
                                  headers=self._headers("admin"))
        assert response.status_code == expect, response.text
        return response.json()

    def signal(self, name: str, data: dict | None = None, expect: int = 200) -> dict:
        response = self.http.post(f"{self.api}/signals", json={"name": name, "data": data or {}},
                                  headers=self._headers("admin"))
        assert response.status_code == expect, response.text
        return response.json()

    def advance(self, **delta) -> dict:
        """Move the service's clock and fire what is due, as the scheduler would."""
        self.clock.advance(**delta)
        response = self.http.post(f"{self.api}/timers/fire-due", headers=self._headers("admin"))
        assert response.status_code == 200, response.text
        return response.json()

    def timers(self, case_id: str) -> list[dict]:
        response = self.http.get(f"{self.api}/timers", params={"instance": case_id},
                                 headers=self._headers("admin"))
        assert response.status_code == 200, response.text
        return response.json()["items"]

    def audit(self, case_id: str) -> list[dict]:
        response = self.http.get(f"{self.api}/instances/{case_id}/audit", params={"limit": 500},
                                 headers=self._headers("admin"))
        assert response.status_code == 200, response.text
        return response.json()["items"]

    def steps(self, case_id: str) -> list[str]:
        """The elements the engine passed through, in order (from the audit trail)."""
        return [e["element_id"] for e in self.audit(case_id) if e["action"] == "engine.step"]


@pytest.fixture()
def bpmn(live_server, people, clock) -> Driver:
    return Driver(live_server, people, clock)

