"""Small hostile diagrams for the guards' tests, written inline: `bpmn(process_id, body)` wraps flow elements."""

from __future__ import annotations

import io

HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="defs" targetNamespace="http://tongban.test">')


def bpmn(process_id: str, body: str, *more: tuple[str, str]) -> str:
    """A definitions document with one executable process (and more as (id, body) pairs)."""
    processes = "".join(f'<bpmn:process id="{pid}" isExecutable="true">{text}</bpmn:process>'
                        for pid, text in ((process_id, body), *more))
    return f"{HEAD}{processes}</bpmn:definitions>"


def task(element: str, name: str = "办理", post: str = "测试受理岗", extra: str = "") -> str:
    return f'<bpmn:userTask id="{element}" name="{name}" camunda:candidateGroups="{post}">{extra}</bpmn:userTask>'


def flow(element: str, source: str, target: str, condition: str | None = None) -> str:
    if condition is None:
        return f'<bpmn:sequenceFlow id="{element}" sourceRef="{source}" targetRef="{target}" />'
    return (f'<bpmn:sequenceFlow id="{element}" sourceRef="{source}" targetRef="{target}">'
            f'<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{condition}</bpmn:conditionExpression>'
            f'</bpmn:sequenceFlow>')


def timer(kind: str, value: str) -> str:
    return (f'<bpmn:timerEventDefinition><bpmn:{kind} xsi:type="bpmn:tFormalExpression">{value}</bpmn:{kind}>'
            f'</bpmn:timerEventDefinition>')


def upload(client, people, *files: tuple[str, str | bytes], as_user: str = "analyst", query: str = ""):
    """Deploy files given as (name, text) through the API."""
    data = {"file": [(io.BytesIO(text.encode() if isinstance(text, str) else text), name) for name, text in files]}
    return client.post(f"/api/v1/process-definitions{query}", data=data, headers=people.auth(as_user),
                       content_type="multipart/form-data")


def simple(process_id: str, *, before: str = "", name: str = "办理") -> str:
    """start → (before) → work (a user task at 测试受理岗) → end."""
    first = "work"
    return bpmn(process_id, f'<bpmn:startEvent id="start" />{flow("f0", "start", "work")}'
                            f'{task(first, name)}{flow("f1", "work", "end")}<bpmn:endEvent id="end" />{before}')
