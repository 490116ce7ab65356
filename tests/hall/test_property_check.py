"""Deploying a diagram checks its hall properties: a typo in a name or value is a 422 naming element and line,
and nothing is stored; every shipped matter's diagram passes."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from app.definitions import service as definitions
from app.hall.checks import property_problems
from tests.conftest import FIXTURES

PROCESSES = Path(__file__).resolve().parents[2] / "processes"
TWO_STEP = (FIXTURES / "two_step.bpmn").read_text(encoding="utf-8")


def _with_properties(element: str, properties: dict[str, str]) -> bytes:
    """two_step.bpmn with camunda:properties on one of its user tasks."""
    entries = "".join(f'<camunda:property name="{n}" value="{v}" />' for n, v in properties.items())
    extension = f"<bpmn:extensionElements><camunda:properties>{entries}</camunda:properties></bpmn:extensionElements>"
    old = f'<bpmn:userTask id="{element}" name="' + ("受理" if element == "accept" else "审批") + '"'
    start = TWO_STEP.index(old)
    end = TWO_STEP.index("/>", start)
    tag = TWO_STEP[start:end].rstrip()
    return (TWO_STEP[:start] + tag + ">" + extension + "</bpmn:userTask>" + TWO_STEP[end + 2:]).encode()


def _deploy(client, people, content: bytes):
    return client.post("/api/v1/process-definitions", data={"file": [(io.BytesIO(content), "two_step.bpmn")]},
                       headers=people.auth("analyst"), content_type="multipart/form-data")


@pytest.mark.parametrize(("element", "properties", "property"), [
    ("approve", {"hall.stpe": "decide"}, "hall.stpe"),
    ("approve", {"hall.step": "approve"}, "hall.step"),
    ("approve", {"hall.step": "decide", "hall.notice": "delivry"}, "hall.notice"),
    ("accept", {"hall.pause": "forever"}, "hall.pause"),
    ("accept", {"hall.step": "special_procedure", "hall.pause": "special", "hall.max_days": "三"}, "hall.max_days"),
    ("accept", {"hall.max_days": "5"}, "hall.max_days"),
    ("accept", {"hall.checklist": "everything"}, "hall.checklist"),
    ("approve", {"hall.step": "review", "hall.forward_clock": "end"}, "hall.forward_clock"),
    ("approve", {"hall.step": "co_opinion", "hall.department": "xyz"}, "hall.department"),
    ("approve", {"hall.step": "co_opinion"}, "hall.step"),
])
def test_an_unknown_hall_property_refuses_the_diagram(client, people, element, properties, property):
    response = _deploy(client, people, _with_properties(element, properties))
    assert response.status_code == 422, response.json
    [problem] = [p for p in response.json["details"]["problems"] if p["code"] == "invalid_hall_property"]
    assert (problem["element"], problem["property"]) == (element, property)
    assert problem["line"] and property in problem["message"] and "two_step.bpmn" in problem["message"]
    assert client.get("/api/v1/process-definitions/two_step", headers=people.auth("analyst")).status_code == 404


def test_known_hall_properties_deploy(client, people):
    content = _with_properties("approve", {"hall.step": "decide", "hall.notice": "refusal, delivery"})
    response = _deploy(client, people, content)
    assert response.status_code == 201, response.json


def test_a_timer_calendar_typo_refuses_the_diagram(client, people):
    content = TWO_STEP.replace('<bpmn:boundaryEvent id="approve_overdue" name="审批超时" attachedToRef="approve" '
                               'cancelActivity="false">', '<bpmn:boundaryEvent id="approve_overdue" name="审批超时" '
                               'attachedToRef="approve" cancelActivity="false"><bpmn:extensionElements>'
                               '<camunda:properties><camunda:property name="tongban.calendar" value="workdays" />'
                               '</camunda:properties></bpmn:extensionElements>')
    assert content != TWO_STEP
    response = _deploy(client, people, content.encode())
    assert response.status_code == 422, response.json
    [problem] = response.json["details"]["problems"]
    assert (problem["code"], problem["element"], problem["value"]) == ("invalid_calendar", "approve_overdue", "workdays")


def test_every_shipped_diagram_passes(app, people):
    diagrams = sorted(PROCESSES.glob("*/*.bpmn"))
    assert len(diagrams) == 90
    with app.app_context():  # compiling reads the sandbox's settings
        for path in diagrams:
            prepared = definitions.prepare(path.name, path.read_bytes())
            assert property_problems(prepared.processes, prepared.tree, path.name) == [], path.name
