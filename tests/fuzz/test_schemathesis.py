"""Schemathesis over the whole API with an admin token: whatever it generates from the OpenAPI document — valid,
invalid, hostile — the server answers without a 5xx. Modest by default (TONGBAN_FUZZ_EXAMPLES examples per
operation, 4); a bigger run: TONGBAN_FUZZ_EXAMPLES=100 pytest tests/fuzz -s (the README gives the last figure)."""

from __future__ import annotations

import os
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from tests.conftest import deploy

EXAMPLES = int(os.environ.get("TONGBAN_FUZZ_EXAMPLES", "4"))
STATUSES: Counter = Counter()


def _document() -> dict:
    """The app's own OpenAPI document (made by an app of its own: no database needed to describe the API)."""
    from app import create_app

    described = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://", "SCHEDULER_ENABLED": False})
    return described.test_client().get("/api/openapi.json").json


schema = schemathesis.openapi.from_dict(_document())


@pytest.fixture()
def served(live_server, client, people) -> tuple[str, dict[str, str]]:
    """The app behind a real HTTP server with a few rows to hit, and the admin's token."""
    deploy(client, people, "two_step.bpmn", "reply.bpmn")
    client.post("/api/v1/process-definitions/two_step/instances", json={"data": {}}, headers=people.auth("clerk"))
    return live_server, people.auth("admin")


@pytest.mark.fuzz
@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_no_server_error_anywhere(case, served):
    base, admin = served
    response = case.call(base_url=base, headers=admin, timeout=60)
    STATUSES[response.status_code // 100 * 100] += 1
    assert response.status_code < 500, (case.method, case.path, case.path_parameters, case.query, case.body,
                                        response.text[:500])


def teardown_module() -> None:
    print(f"\nschemathesis: {sum(STATUSES.values())} requests by class {dict(sorted(STATUSES.items()))}")
