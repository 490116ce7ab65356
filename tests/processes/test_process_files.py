"""The catalog's diagrams and forms: parse, validate, DI, lanes, forms, generator rules, engine smoke runs.

Pure SpiffWorkflow and lxml; no Flask application is imported.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import sys
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator
from lxml import etree
from SpiffWorkflow.bpmn import BpmnEvent, BpmnWorkflow
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator
from SpiffWorkflow.camunda.parser import CamundaParser
from SpiffWorkflow.camunda.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.util.task import TaskState

ROOT = Path(__file__).resolve().parents[2]
PROCESSES = ROOT / "processes"
FORMS = ROOT / "forms"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "processes"
NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
    "camunda": "http://camunda.org/schema/1.0/bpmn",
}
CAMUNDA_FORM_KEY = "{http://camunda.org/schema/1.0/bpmn}formKey"
FLOW_NODES = (
    "startEvent",
    "endEvent",
    "userTask",
    "exclusiveGateway",
    "parallelGateway",
    "intermediateCatchEvent",
    "boundaryEvent",
)
SIZES = {"userTask": (100, 80), "exclusiveGateway": (50, 50), "parallelGateway": (50, 50)}
ISO_DURATION = re.compile(r"^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?$")


def _load_generator():
    spec = importlib.util.spec_from_file_location("generate_processes", ROOT / "tools" / "generate_processes.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("generate_processes", module)
    spec.loader.exec_module(module)
    return module


gen = _load_generator()


def _catalog_bpmn() -> list[Path]:
    return sorted(PROCESSES.glob("*/*.bpmn")) if PROCESSES.exists() else []


def _catalog_yaml() -> list[Path]:
    return sorted(PROCESSES.glob("*/*.yaml")) if PROCESSES.exists() else []


@pytest.fixture(scope="module")
def fixture_dir(tmp_path_factory) -> Path:
    """The fixture catalog, copied to a temporary directory and generated there."""
    target = tmp_path_factory.mktemp("catalog") / "processes"
    shutil.copytree(FIXTURES, target)
    summary = gen.generate(target, log=lambda *a, **k: None)
    assert not summary.errors
    return target


def _fixture_bpmn(fixture_dir: Path) -> list[Path]:
    files = sorted(fixture_dir.glob("*/*.bpmn"))
    assert len(files) == len(list(FIXTURES.glob("*/*.yaml")))
    return files


# ---------------------------------------------------------------- structural checks, shared


def check_parses(path: Path) -> None:
    parser = CamundaParser(validator=BpmnValidator())
    parser.add_bpmn_file(str(path))
    process_id = "matter_" + path.stem.replace("-", "_")
    assert parser.get_process_ids() == [process_id]
    spec = parser.get_spec(process_id)
    assert spec.name == process_id
    tree = etree.parse(str(path))
    process = tree.find("bpmn:process", NS)
    assert process.get("isExecutable") == "true"
    participants = tree.findall(".//bpmn:participant", NS)
    assert len(participants) == 1 and participants[0].get("processRef") == process_id


def _bounds(tree) -> dict[str, tuple[float, float, float, float]]:
    out = {}
    for shape in tree.iterfind(".//bpmndi:BPMNShape", NS):
        b = shape.find("dc:Bounds", NS)
        out[shape.get("bpmnElement")] = tuple(float(b.get(k)) for k in ("x", "y", "width", "height"))
    return out


def check_di(path: Path) -> None:
    tree = etree.parse(str(path))
    bounds = _bounds(tree)
    edges = {e.get("bpmnElement"): e for e in tree.iterfind(".//bpmndi:BPMNEdge", NS)}
    process = tree.find("bpmn:process", NS)
    nodes = [el for tag in FLOW_NODES for el in process.iterfind(f"bpmn:{tag}", NS)]
    lanes = process.findall(".//bpmn:lane", NS)
    participant = tree.find(".//bpmn:participant", NS)
    for el in [*nodes, *lanes, participant]:
        assert el.get("id") in bounds, f"{path.name}: no BPMNShape for {el.get('id')}"
    for shape in tree.iterfind(".//bpmndi:BPMNShape", NS):
        if shape.get("bpmnElement") in {participant.get("id"), *(lane.get("id") for lane in lanes)}:
            assert shape.get("isHorizontal") == "true"
    for flow in process.iterfind("bpmn:sequenceFlow", NS):
        edge = edges.get(flow.get("id"))
        assert edge is not None, f"{path.name}: no BPMNEdge for {flow.get('id')}"
        points = [(float(p.get("x")), float(p.get("y"))) for p in edge.iterfind("di:waypoint", NS)]
        assert len(points) >= 2
        for a, b in zip(points, points[1:], strict=False):
            assert a[0] == b[0] or a[1] == b[1], f"{path.name}: {flow.get('id')} is not orthogonal"

    # sizes, and every node inside its lane's band
    lane_of = {ref.text: lane.get("id") for lane in lanes for ref in lane.iterfind("bpmn:flowNodeRef", NS)}
    pool = bounds[participant.get("id")]
    for el in nodes:
        tag = etree.QName(el).localname
        x, y, w, h = bounds[el.get("id")]
        assert (w, h) == SIZES.get(tag, (36, 36)), f"{path.name}: {el.get('id')} has size {w}x{h}"
        assert el.get("id") in lane_of, f"{path.name}: {el.get('id')} is in no lane"
        lx, ly, lw, lh = bounds[lane_of[el.get("id")]]
        cy = y + h / 2
        assert lx <= x and x + w <= lx + lw and ly <= cy <= ly + lh, f"{path.name}: {el.get('id')} outside its lane"
    # lanes stacked top to bottom, spanning the pool's width
    lane_boxes = sorted(bounds[lane.get("id")] for lane in lanes)
    lane_boxes.sort(key=lambda b: b[1])
    y = pool[1]
    for lx, ly, lw, lh in lane_boxes:
        assert ly == y and lx + lw == pool[0] + pool[2] and lx > pool[0]
        y += lh
    assert y == pool[1] + pool[3]

    # no two flow-node shapes overlap (a boundary event sits on its host's border)
    attached = {el.get("id"): el.get("attachedToRef") for el in process.iterfind("bpmn:boundaryEvent", NS)}
    ids = [el.get("id") for el in nodes]
    for i, a in enumerate(ids):
        for b in ids[i + 1 :]:
            if attached.get(a) == b or attached.get(b) == a:
                continue
            ax, ay, aw, ah = bounds[a]
            bx, by, bw, bh = bounds[b]
            overlap = ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah
            assert not overlap, f"{path.name}: {a} overlaps {b}"
    for boundary, host in attached.items():
        bx, by, bw, bh = bounds[boundary]
        hx, hy, hw, hh = bounds[host]
        assert by + bh / 2 == hy + hh and hx <= bx + bw / 2 <= hx + hw, (
            f"{path.name}: {boundary} not on the bottom edge"
        )


def check_semantics(path: Path, posts: set[str]) -> None:
    tree = etree.parse(str(path))
    process = tree.find("bpmn:process", NS)
    for lane in process.iterfind(".//bpmn:lane", NS):
        assert lane.get("name") in posts, f"{path.name}: lane {lane.get('name')} is not a post"
    flows = {f.get("id"): f for f in process.iterfind("bpmn:sequenceFlow", NS)}
    for gw in process.iterfind("bpmn:exclusiveGateway", NS):
        outgoing = [flows[o.text] for o in gw.iterfind("bpmn:outgoing", NS)]
        if len(outgoing) == 1:  # a merge: its one flow is the default, unconditional
            assert gw.get("default") == outgoing[0].get("id")
            continue
        assert gw.get("default") in {f.get("id") for f in outgoing}, f"{path.name}: {gw.get('id')} has no default"
        for flow in outgoing:
            cond = flow.find("bpmn:conditionExpression", NS)
            assert cond is not None and cond.text, f"{path.name}: {flow.get('id')} has no condition"
            compile(cond.text, flow.get("id"), "eval")
    # joins are explicit: only gateways have several incoming flows (bpmnlint fake-join)
    incoming: dict[str, int] = {}
    for flow in flows.values():
        incoming[flow.get("targetRef")] = incoming.get(flow.get("targetRef"), 0) + 1
    for el in process:
        if el.get("id") in incoming and not etree.QName(el).localname.endswith("Gateway"):
            assert incoming[el.get("id")] == 1, f"{path.name}: implicit join at {el.get('id')}"
    for task in process.iterfind("bpmn:userTask", NS):
        assert task.get(CAMUNDA_FORM_KEY), f"{path.name}: {task.get('id')} has no formKey"
    for boundary in process.iterfind("bpmn:boundaryEvent", NS):
        duration = boundary.find("bpmn:timerEventDefinition/bpmn:timeDuration", NS)
        assert duration is not None and ISO_DURATION.match(duration.text), f"{path.name}: bad timer"
        target = process.find(f"bpmn:sequenceFlow[@sourceRef='{boundary.get('id')}']", NS).get("targetRef")
        if boundary.get("attachedToRef") == "supplement_check":  # the supplement deadline (Art. 32): it ends the case
            assert boundary.get("cancelActivity") in (None, "true")
            end = process.find(f"bpmn:endEvent[@id='{target}']", NS)
            assert end is not None and end.find(".//camunda:property[@name='hall.outcome']", NS).get("value") \
                == "supplement_timeout"
            continue
        assert boundary.get("cancelActivity") == "false"
        supervise = process.find(f"bpmn:userTask[@id='{target}']", NS)
        assert supervise.get(CAMUNDA_FORM_KEY) == "supervise"
        lane = process.find(f".//bpmn:lane[bpmn:flowNodeRef='{target}']", NS)
        assert lane.get("name").endswith("督查岗")
    for catch in process.iterfind("bpmn:intermediateCatchEvent", NS):
        ref = catch.find("bpmn:messageEventDefinition", NS).get("messageRef")
        message = tree.find(f"bpmn:message[@id='{ref}']", NS)
        assert message.get("name") == "higher_authority_reply"


def form_keys(path: Path) -> set[str]:
    tree = etree.parse(str(path))
    return {t.get(CAMUNDA_FORM_KEY) for t in tree.iterfind(".//bpmn:userTask", NS)}


# ---------------------------------------------------------------- the real catalog


@pytest.fixture(scope="module")
def hall_posts() -> set[str]:
    if not (PROCESSES / "hall.yaml").exists():
        pytest.skip("processes/hall.yaml not written yet")
    return gen.post_names(gen.load_hall(PROCESSES))


@pytest.mark.parametrize("path", _catalog_bpmn(), ids=lambda p: p.stem)
def test_catalog_diagram_parses_and_validates(path):
    check_parses(path)


@pytest.mark.parametrize("path", _catalog_bpmn(), ids=lambda p: p.stem)
def test_catalog_diagram_has_complete_di(path):
    check_di(path)


@pytest.mark.parametrize("path", _catalog_bpmn(), ids=lambda p: p.stem)
def test_catalog_diagram_semantics(path, hall_posts):
    check_semantics(path, hall_posts)


@pytest.mark.parametrize("path", _catalog_bpmn(), ids=lambda p: p.stem)
def test_catalog_form_keys_have_forms(path):
    for key in form_keys(path):
        assert (FORMS / f"{key}.json").exists(), f"{path.name}: forms/{key}.json is missing"


def test_every_bpmn_has_yaml_and_vice_versa():
    bpmn = {p.with_suffix("") for p in _catalog_bpmn()}
    yamls = {p.with_suffix("") for p in _catalog_yaml()}
    assert bpmn == yamls


def test_catalog_matches_generator_kinds():
    for path in _catalog_yaml():
        matter = gen.load_yaml(path)
        assert matter["kind"] in gen.KINDS
        bpmn = path.with_suffix(".bpmn")
        if bpmn.exists():
            tree = etree.parse(str(bpmn))
            assert tree.find("bpmn:process", NS).get("name") == matter["name"]


# ---------------------------------------------------------------- forms


FORM_FILES = sorted(FORMS.glob("*.json"))
# the variables the gateways read, and the forms that must require them
GATEWAY_VARIABLES = {
    "accept": ["outcome"],
    "supplement_check": ["outcome"],
    "decide": ["decision"],
    "inform": ["higher_decision"],
}


@pytest.mark.parametrize("path", FORM_FILES, ids=lambda p: p.stem)
def test_form_is_valid_json_schema(path):
    schema = json.loads(path.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["type"] == "object"
    assert re.search(r"[\u4e00-\u9fff]", schema["title"]) and re.search(r"[\u4e00-\u9fff]", schema["description"])
    for name, prop in schema["properties"].items():
        assert name.isascii()
        assert re.search(r"[\u4e00-\u9fff]", prop["title"]), f"{path.name}: {name} needs a Chinese title"
        if "enum" in prop:
            assert len(prop["enumNames"]) == len(prop["enum"])


@pytest.mark.parametrize("key,variables", sorted(GATEWAY_VARIABLES.items()))
def test_gateway_variables_are_required(key, variables):
    schema = json.loads((FORMS / f"{key}.json").read_text(encoding="utf-8"))
    for variable in variables:
        assert variable in schema["required"]


def _errors(key: str, data: dict) -> list[str]:
    schema = json.loads((FORMS / f"{key}.json").read_text(encoding="utf-8"))
    return [e.message for e in Draft202012Validator(schema).iter_errors(data)]


@pytest.mark.parametrize(
    "key,data,ok",
    [
        ("accept", {"outcome": "accept", "materials": [{"name": "申请表", "received": True}]}, True),
        ("accept", {"outcome": "supplement"}, False),
        ("accept", {"outcome": "supplement", "missing_materials": []}, False),
        ("accept", {"outcome": "supplement", "missing_materials": ["营业执照复印件", "法人身份证"]}, True),
        ("accept", {"outcome": "not_accepted"}, False),
        ("accept", {"outcome": "not_accepted", "reasons": "不属于本机关职权范围"}, True),
        ("accept", {"outcome": "maybe"}, False),
        ("supplement_notice", {"missing_materials": []}, False),
        ("supplement_check", {"outcome": "complete"}, True),
        ("supplement_check", {"outcome": "not_accepted"}, False),
        ("not_accepted", {"reasons": ""}, False),
        ("not_accepted", {"reasons": "   "}, False),
        ("decide", {"decision": "grant"}, True),
        ("decide", {"decision": "refuse"}, False),
        ("decide", {"decision": "refuse", "reasons": " "}, False),
        ("decide", {"decision": "refuse", "reasons": "不符合法定条件"}, True),
        ("review", {"opinion": "同意", "recommendation": "grant"}, True),
        ("review", {"recommendation": "grant"}, False),
        ("co_opinion", {"opinion": "同意", "agree": True}, True),
        ("co_opinion", {"opinion": "同意"}, False),
        ("supervise", {"action": "urge", "note": "请尽快办理"}, True),
        ("supervise", {}, False),
    ],
)
def test_form_rules(key, data, ok):
    assert (not _errors(key, data)) is ok


# ---------------------------------------------------------------- the generator on the fixture catalog


def test_fixture_diagrams_are_well_formed(fixture_dir):
    posts = gen.post_names(gen.load_hall(fixture_dir))
    for path in _fixture_bpmn(fixture_dir):
        check_parses(path)
        check_di(path)
        check_semantics(path, posts)
        for key in form_keys(path):
            assert (FORMS / f"{key}.json").exists(), key


def test_generation_is_deterministic(fixture_dir):
    hall = gen.load_hall(fixture_dir)
    for path in sorted(fixture_dir.glob("*/*.yaml")):
        matter = gen.load_yaml(path)
        assert gen.render_bpmn(matter, hall) == path.with_suffix(".bpmn").read_text(encoding="utf-8")


def test_no_silent_overwrite(tmp_path):
    root = tmp_path / "processes"
    shutil.copytree(FIXTURES, root)
    messages: list[str] = []
    first = gen.generate(root, log=messages.append)
    assert len(first.written) == len(list(root.glob("*/*.yaml"))) and not first.errors
    sidecar = json.loads((root / ".generated.json").read_text(encoding="utf-8"))
    assert set(sidecar) == {p.relative_to(root).as_posix() for p in root.glob("*/*.bpmn")}

    # untouched: re-running is a no-op
    again = gen.generate(root, log=messages.append)
    assert len(again.unchanged) == len(first.written) and not again.written and not again.skipped

    # an untouched file whose yaml changed is regenerated
    yaml_path = root / "fgj" / "32021300FG-BA-0001.yaml"
    matter = yaml.safe_load(yaml_path.read_text(encoding="utf-8"))
    matter["name"] = "企业投资项目备案（修订）"
    yaml_path.write_text(yaml.safe_dump(matter, allow_unicode=True), encoding="utf-8")
    changed = gen.generate(root, log=messages.append)
    assert changed.regenerated == ["fgj/32021300FG-BA-0001.bpmn"]
    assert "（修订）" in yaml_path.with_suffix(".bpmn").read_text(encoding="utf-8")

    # a hand-edited file is skipped with a warning naming it, and kept as edited
    bpmn = root / "fgj" / "32021300FG-QT-0001.bpmn"
    edited = bpmn.read_text(encoding="utf-8").replace('name="当场决定"', 'name="当场决定（手工修改）"')
    bpmn.write_text(edited, encoding="utf-8")
    messages.clear()
    skipped = gen.generate(root, log=messages.append)
    assert skipped.skipped == ["fgj/32021300FG-QT-0001.bpmn"]
    assert any("warning" in m and "fgj/32021300FG-QT-0001.bpmn" in m for m in messages)
    assert bpmn.read_text(encoding="utf-8") == edited
    # still skipped next time (the recorded hash is the generated one, not the edited one)
    assert gen.generate(root, log=messages.append).skipped == ["fgj/32021300FG-QT-0001.bpmn"]

    # --only limits the run; --force overwrites the hand edit
    only = gen.generate(root, only="32021300FG-BA-0001", log=messages.append)
    assert only.unchanged == ["fgj/32021300FG-BA-0001.bpmn"] and not only.skipped
    forced = gen.generate(root, force=True, log=messages.append)
    assert forced.forced == ["fgj/32021300FG-QT-0001.bpmn"]
    assert "手工修改" not in bpmn.read_text(encoding="utf-8")
    assert gen.generate(root, log=messages.append).skipped == []

    # a diagram nobody generated (drawn by hand, no record) is not overwritten either;
    # an unrecorded file identical to the generated text is simply recorded
    (root / ".generated.json").write_text("{}", encoding="utf-8")
    drawn = root / "fgj" / "32021300FG-XK-0002.bpmn"
    drawn.write_text(drawn.read_text(encoding="utf-8").replace("会办分发", "会办"), encoding="utf-8")
    unrecorded = gen.generate(root, log=messages.append)
    assert unrecorded.skipped == ["fgj/32021300FG-XK-0002.bpmn"]
    assert len(unrecorded.unchanged) == len(first.written) - 1


def test_main_cli(tmp_path, capsys):
    root = tmp_path / "processes"
    shutil.copytree(FIXTURES, root)
    assert gen.main(["--processes", str(root), "--only", "32021300FG-XK-0003"]) == 0
    assert [p.name for p in root.glob("*/*.bpmn")] == ["32021300FG-XK-0003.bpmn"]
    assert "1 new" in capsys.readouterr().out
    assert gen.main(["--processes", str(root), "--only", "NO-SUCH"]) == 1


def test_unknown_post_is_refused():
    hall = gen.load_hall(FIXTURES)
    matter = gen.load_yaml(FIXTURES / "fgj" / "32021300FG-XK-0002.yaml")
    matter["co_departments"] = ["zzz"]
    with pytest.raises(gen.GenerationError):
        gen.render_bpmn(matter, hall)
    hall = {**hall, "posts": [p for p in hall["posts"] if p["name"] != "发改局督查岗"]}
    with pytest.raises(gen.GenerationError):
        gen.render_bpmn(gen.load_yaml(FIXTURES / "fgj" / "32021300FG-BA-0001.yaml"), hall)


# ---------------------------------------------------------------- engine smoke runs (pure SpiffWorkflow)


def _workflow(path: Path) -> BpmnWorkflow:
    text = path.read_text(encoding="utf-8")
    # the real engine accepts bare ISO 8601 timers; SpiffWorkflow's default engine wants a Python string
    text = re.sub(r"(<bpmn:timeDuration[^>]*>)([^<]+)(</bpmn:timeDuration>)", r'\1"\2"\3', text)
    parser = CamundaParser()
    parser.add_bpmn_xml(etree.fromstring(text.encode("utf-8")), filename=path.name)
    workflow = BpmnWorkflow(parser.get_spec("matter_" + path.stem.replace("-", "_")))
    workflow.do_engine_steps()
    return workflow


def run_case(path: Path, answers: dict[str, dict], reply: dict | None = None) -> tuple[list[str], list[str]]:
    """Drive one case to its end; answers maps task id -> form data. Returns (tasks done, ends reached)."""
    workflow = _workflow(path)
    done: list[str] = []
    for _ in range(50):
        ready = workflow.get_tasks(state=TaskState.READY, manual=True)
        if not ready:
            if workflow.is_completed():
                break
            waiting = [t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.WAITING)]
            assert "wait_reply" in waiting and reply is not None, f"stalled, waiting on {waiting}"
            event = BpmnEvent(
                MessageEventDefinition("higher_authority_reply"), {"payload": reply, "result_var": "reply"}
            )
            workflow.catch(event)
            workflow.refresh_waiting_tasks()
            workflow.do_engine_steps()
            reply = None
            continue
        for task in ready:
            spec = task.task_spec
            data = answers[spec.bpmn_id]
            assert not _errors(spec.form.key, data), (spec.bpmn_id, _errors(spec.form.key, data))
            assert spec.lane
            task.set_data(**data)
            task.run()
            done.append(spec.bpmn_id)
        workflow.do_engine_steps()
    assert workflow.is_completed()
    ends = [
        t.task_spec.bpmn_id
        for t in workflow.get_tasks(state=TaskState.COMPLETED)
        if t.task_spec.bpmn_id and t.task_spec.bpmn_id.startswith("end_")
    ]
    return done, ends


ACCEPT = {"outcome": "accept", "materials": [{"name": "申请表", "received": True}]}
SUPPLEMENT = {"outcome": "supplement", "missing_materials": ["营业执照复印件"]}
NOT_ACCEPTED = {"outcome": "not_accepted", "reasons": "不属于本机关职权范围"}
GRANT = {"decision": "grant"}
REFUSE = {"decision": "refuse", "reasons": "不符合法定条件"}
REVIEW = {"opinion": "材料真实有效", "recommendation": "grant"}
DELIVER = {"method": "on_site"}


@pytest.mark.parametrize(
    "code,answers,reply,expected_done,expected_end",
    [
        ("32021300FG-QT-0001", {"accept": ACCEPT, "decide": GRANT}, None, ["accept", "decide"], "end_granted"),
        (
            "32021300FG-QT-0001",
            {
                "accept": SUPPLEMENT,
                "supplement_notice": {"missing_materials": ["营业执照复印件"]},
                "supplement_check": {"outcome": "complete"},
                "decide": REFUSE,
            },
            None,
            ["accept", "supplement_notice", "supplement_check", "decide"],
            "end_refused",
        ),
        (
            "32021300FG-BA-0001",
            {"accept": NOT_ACCEPTED, "not_accepted": {"reasons": "不属于本机关职权范围"}},
            None,
            ["accept", "not_accepted"],
            "end_not_accepted",
        ),
        (
            "32021300FG-BA-0001",
            {
                "accept": SUPPLEMENT,
                "supplement_notice": {"missing_materials": ["营业执照复印件"]},
                "supplement_check": {"outcome": "not_accepted", "reasons": "逾期未补正"},
                "not_accepted": {"reasons": "逾期未补正"},
            },
            None,
            ["accept", "supplement_notice", "supplement_check", "not_accepted"],
            "end_not_accepted",
        ),
        (
            "32021300HB-XK-0001",
            {
                "accept": ACCEPT,
                "review": REVIEW,
                "site_survey": {"findings": "现场与申报一致", "conclusion": "pass"},
                "expert_review": {"opinion": "同意", "conclusion": "pass"},
                "decide": GRANT,
                "deliver": DELIVER,
            },
            None,
            ["accept", "review", "site_survey", "expert_review", "decide", "deliver"],
            "end_granted",
        ),
        (
            "32021300FG-BA-0001",
            {"accept": ACCEPT, "review": REVIEW, "decide": REFUSE, "deliver_refusal": DELIVER},
            None,
            ["accept", "review", "decide", "deliver_refusal"],
            "end_refused",
        ),
        (
            "32021300FG-XK-0002",
            {
                "accept": ACCEPT,
                "review": REVIEW,
                # plain SpiffWorkflow does not apply camunda:outputParameter: hand it the opinions the outputs
                # would write (opinions.{department}), as tongban's engine does
                "co_opinion_hbj": {"opinion": "同意", "agree": True,
                                   "opinions": {"hbj": {"opinion": "同意", "agree": True}}},
                "co_opinion_cgj": {"opinion": "同意", "agree": True,
                                   "opinions": {"cgj": {"opinion": "同意", "agree": True}}},
                "decide": GRANT,
                "deliver": DELIVER,
            },
            None,
            ["accept", "review", "co_opinion_hbj", "co_opinion_cgj", "decide", "deliver"],
            "end_granted",
        ),
        (
            "32021300FG-XK-0003",
            {
                "accept": ACCEPT,
                "first_review": REVIEW,
                "forward": {"forwarded_to": "市发展和改革委员会"},
                "inform": {"higher_decision": "approved", "method": "sms"},
            },
            {"higher_decision": "approved", "higher_opinion": "同意"},
            ["accept", "first_review", "forward", "inform"],
            "end_higher_approved",
        ),
        (
            "32021300FG-XK-0003",
            {
                "accept": ACCEPT,
                "first_review": REVIEW,
                "forward": {"forwarded_to": "市发展和改革委员会"},
                "inform": {"higher_decision": "rejected", "method": "phone"},
            },
            {"higher_decision": "rejected"},
            ["accept", "first_review", "forward", "inform"],
            "end_higher_rejected",
        ),
    ],
)
def test_engine_smoke(fixture_dir, code, answers, reply, expected_done, expected_end):
    path = next(fixture_dir.glob(f"*/{code}.bpmn"))
    done, ends = run_case(path, answers, reply)
    assert sorted(done) == sorted(expected_done)
    assert ends == [expected_end]


def test_escalation_timer_fires_supervision(fixture_dir):
    """An overdue review raises 超期督办 in the supervision post while the review stays open."""
    path = fixture_dir / "fgj" / "32021300FG-BA-0001.bpmn"
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"(<bpmn:timeDuration[^>]*>)([^<]+)(</bpmn:timeDuration>)", '\\1"PT0S"\\3', text)
    parser = CamundaParser()
    parser.add_bpmn_xml(etree.fromstring(text.encode("utf-8")))
    workflow = BpmnWorkflow(parser.get_spec("matter_32021300FG_BA_0001"))
    workflow.do_engine_steps()
    accept = workflow.get_tasks(state=TaskState.READY, manual=True)[0]
    accept.set_data(**ACCEPT)
    accept.run()
    workflow.do_engine_steps()
    workflow.refresh_waiting_tasks()
    workflow.do_engine_steps()
    ready = {t.task_spec.bpmn_id: t for t in workflow.get_tasks(state=TaskState.READY, manual=True)}
    assert set(ready) == {"review", "supervise_review"}
    assert ready["supervise_review"].task_spec.lane == "发改局督查岗"
    assert ready["supervise_review"].task_spec.form.key == "supervise"
