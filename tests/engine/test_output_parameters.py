"""camunda:outputParameter on a user task: only the declared outputs reach the shared data (Camunda's local
variables); a task without declared outputs hands on everything it was completed with."""

from __future__ import annotations

from datetime import UTC, datetime

from app.engine.case import Case
from app.engine.compiler import compile_bpmn

BPMN = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="outputs" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="opinion"/>
    <bpmn:userTask id="opinion" name="opinion">
      <bpmn:extensionElements>
        <camunda:inputOutput>
          <camunda:outputParameter name="opinions">
            <camunda:map>
              <camunda:entry key="hbj">
                <camunda:map>
                  <camunda:entry key="agree">${agree}</camunda:entry>
                  <camunda:entry key="by">${task.completed_by}</camunda:entry>
                  <camunda:entry key="missing">${nothing}</camunda:entry>
                </camunda:map>
              </camunda:entry>
            </camunda:map>
          </camunda:outputParameter>
          <camunda:outputParameter name="note"/>
          <camunda:outputParameter name="fixed">literal</camunda:outputParameter>
        </camunda:inputOutput>
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f2" sourceRef="opinion" targetRef="plain"/>
    <bpmn:userTask id="plain" name="plain"/>
    <bpmn:sequenceFlow id="f3" sourceRef="plain" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def test_only_declared_outputs_reach_the_shared_data_and_maps_merge():
    process = compile_bpmn(BPMN, "outputs.bpmn")[0]
    assert process.user_tasks["opinion"].outputs == ("opinions", "note", "fixed")
    assert process.user_tasks["plain"].outputs == ()
    case = Case.start(process, {"opinions": {"cgj": {"agree": True}}})
    [task] = case.open_user_tasks()
    case.complete(task.id, {"agree": False, "note": "n", "secret": "local only"}, actor="wang",
                  at=datetime(2026, 11, 23, 1, tzinfo=UTC))
    data = case.data()
    assert data["opinions"] == {"cgj": {"agree": True}, "hbj": {"agree": False, "by": "wang", "missing": None}}
    assert (data["note"], data["fixed"]) == ("n", "literal")
    assert "secret" not in data and "agree" not in data
    [task] = case.open_user_tasks()
    case.complete(task.id, {"anything": 1})
    assert case.data()["anything"] == 1
