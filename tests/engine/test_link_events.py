"""Link events (off-page connectors) run as drawn: a throwing link goes on at the catching link of the same name
in its process or subprocess — onwards, back into a loop, from several throws to one catch. A link that cannot be
followed is refused when the diagram is parsed, naming the link."""

from __future__ import annotations

import pytest

from app.engine.case import Case
from app.engine.compiler import compile_bpmn
from app.engine.errors import DefinitionError

HEAD = ('<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions '
        'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
        'id="d" targetNamespace="http://bpmn.io/schema/bpmn"><bpmn:process id="linked" isExecutable="true">')
TAIL = "</bpmn:process></bpmn:definitions>"


def _throw(id_: str, name: str) -> str:
    return (f'<bpmn:intermediateThrowEvent id="{id_}" name="{name}"><bpmn:linkEventDefinition id="{id_}_d" '
            f'name="{name}"/></bpmn:intermediateThrowEvent>')


def _catch(id_: str, name: str) -> str:
    return (f'<bpmn:intermediateCatchEvent id="{id_}"><bpmn:linkEventDefinition id="{id_}_d" name="{name}"/>'
            f'</bpmn:intermediateCatchEvent>')


def _flow(source: str, target: str, condition: str | None = None) -> str:
    cond = (f'<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression" '
            f'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">{condition}</bpmn:conditionExpression>'
            if condition else "")
    return f'<bpmn:sequenceFlow id="{source}_{target}" sourceRef="{source}" targetRef="{target}">{cond}</bpmn:sequenceFlow>'


def _compile(body: str):
    return compile_bpmn((HEAD + body + TAIL).encode(), "linked.bpmn")[0]


def _names(case: Case) -> list[str]:
    return [t.element_id for t in case.open_user_tasks()]


LOOPING = "".join([
    '<bpmn:startEvent id="start"/>', _flow("start", "again"),
    _catch("again", "重新审查"), _flow("again", "review"),
    '<bpmn:userTask id="review" name="审查"/>', _flow("review", "ok"),
    '<bpmn:exclusiveGateway id="ok" default="ok_onwards"/>',
    _flow("ok", "back", "${redo == true}"),
    '<bpmn:sequenceFlow id="ok_onwards" sourceRef="ok" targetRef="onwards"/>',
    _throw("back", "重新审查"), _throw("onwards", "办结"),
    _catch("resume", "办结"), _flow("resume", "deliver"),
    '<bpmn:userTask id="deliver" name="送达"/>', _flow("deliver", "end"), '<bpmn:endEvent id="end"/>',
])


def test_links_lead_onwards_and_back_into_a_loop():
    process = _compile(LOOPING)
    case = Case.start(process, {})
    assert _names(case) == ["review"]
    for redo in (True, True, False):
        [task] = case.open_user_tasks()
        case.complete(task.id, {"redo": redo})
        case = Case.load(process, case.dump())  # stored and read back between steps, as the service does
    assert _names(case) == ["deliver"]
    case.complete(case.open_user_tasks()[0].id, {})
    assert case.workflow.is_completed()


def test_a_link_inside_a_subprocess_stays_in_it():
    body = "".join([
        '<bpmn:startEvent id="start"/>', _flow("start", "sub"),
        '<bpmn:subProcess id="sub">', '<bpmn:startEvent id="s_start"/>', _flow("s_start", "s_throw"),
        _throw("s_throw", "跳转"), _catch("s_catch", "跳转"), _flow("s_catch", "inner"),
        '<bpmn:userTask id="inner" name="子流程内"/>', _flow("inner", "s_end"), '<bpmn:endEvent id="s_end"/>',
        '</bpmn:subProcess>', _flow("sub", "after"),
        '<bpmn:userTask id="after" name="之后"/>', _flow("after", "end"), '<bpmn:endEvent id="end"/>',
        _catch("outer_catch", "跳转"),  # the same name outside the subprocess is another link
    ])
    case = Case.start(_compile(body), {})
    assert _names(case) == ["inner"]
    case.complete(case.open_user_tasks()[0].id, {})
    assert _names(case) == ["after"]


@pytest.mark.parametrize(("body", "said"), [
    ('<bpmn:startEvent id="start"/>' + _flow("start", "t") + _throw("t", "无处"), "无处"),
    ('<bpmn:startEvent id="start"/>' + _flow("start", "t") + _throw("t", "两处") + _catch("c1", "两处")
     + _catch("c2", "两处") + _flow("c1", "e") + _flow("c2", "e") + '<bpmn:endEvent id="e"/>', "2 个"),
    ('<bpmn:startEvent id="start"/>' + _flow("start", "t") + _throw("t", "多余") + _flow("t", "e")
     + _catch("c", "多余") + _flow("c", "e") + '<bpmn:endEvent id="e"/>', "不能再有流出"),
    ('<bpmn:startEvent id="start"/>' + _flow("start", "t") + _throw("t", "")
     + _catch("c", "") + _flow("c", "e") + '<bpmn:endEvent id="e"/>', "没有名称"),
])
def test_a_link_that_cannot_be_followed_is_refused(body, said):
    with pytest.raises(DefinitionError) as refused:
        _compile(body)
    assert said in str(refused.value) and "链接" in str(refused.value)
