"""A diff of two BPMN versions by element: added, removed and changed tasks, flows, events, gateways, lanes,
with timers and forms called out. Elements are matched by id; an element is changed when its type, name,
attributes (Camunda's extension attributes included), condition, timer expression, lane or flow ends differ."""

from __future__ import annotations

from typing import Any

from lxml import etree

from ..engine.xml import parse_xml

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
_CONTAINERS = {"process", "subProcess", "transaction", "adHocSubProcess", "laneSet", "childLaneSet"}
_SKIP = {"incoming", "outgoing", "flowNodeRef", "documentation", "extensionElements", "conditionExpression",
         "timerEventDefinition", "multiInstanceLoopCharacteristics", "standardLoopCharacteristics"}
_TIMER_PARTS = ("timeDuration", "timeDate", "timeCycle")


def _local(node) -> str:
    return etree.QName(node).localname


def _attr_name(name: str) -> str:
    qname = etree.QName(name)
    if qname.namespace == CAMUNDA_NS:
        return f"camunda:{qname.localname}"
    return qname.localname if qname.namespace in (None, BPMN_NS) else name


def category(kind: str) -> str:
    if kind == "sequenceFlow" or kind == "messageFlow":
        return "flow"
    if kind.endswith("Task") or kind in ("task", "subProcess", "callActivity", "transaction", "adHocSubProcess"):
        return "task"
    if kind.endswith("Event"):
        return "event"
    if kind.endswith("Gateway"):
        return "gateway"
    if kind == "lane":
        return "lane"
    return "other"


def _elements(content: str | bytes, filename: str) -> dict[str, dict[str, Any]]:
    """Every element with an id inside the processes (the diagram's drawing, bpmndi, is not compared)."""
    root = parse_xml(content.encode() if isinstance(content, str) else content, filename).getroot()
    lanes: dict[str, str] = {}
    for lane in root.iter(f"{{{BPMN_NS}}}lane"):
        for ref in lane.iterfind(f"{{{BPMN_NS}}}flowNodeRef"):
            lanes[(ref.text or "").strip()] = lane.get("name") or lane.get("id")
    found: dict[str, dict[str, Any]] = {}
    for process in root.iterfind(f"{{{BPMN_NS}}}process"):
        for node in process.iter():
            if not isinstance(node.tag, str) or node is process or etree.QName(node).namespace != BPMN_NS:
                continue
            kind = _local(node)
            if kind in _SKIP or node.get("id") is None or kind in ("laneSet", "childLaneSet"):
                continue
            found[node.get("id")] = _describe(node, kind, lanes)
    return found


def _describe(node, kind: str, lanes: dict[str, str]) -> dict[str, Any]:
    attributes = {_attr_name(k): v for k, v in node.attrib.items() if k not in ("id", "name")}
    properties: dict[str, Any] = {"type": kind, "name": node.get("name"), **attributes}
    condition = node.find(f"{{{BPMN_NS}}}conditionExpression")
    if condition is not None:
        properties["condition"] = (condition.text or "").strip()
    timer = node.find(f"{{{BPMN_NS}}}timerEventDefinition")
    if timer is not None:
        for part in _TIMER_PARTS:
            value = timer.find(f"{{{BPMN_NS}}}{part}")
            if value is not None:
                properties[f"timer.{part}"] = (value.text or "").strip()
    for definition in node:
        if isinstance(definition.tag, str) and _local(definition).endswith("EventDefinition") \
                and _local(definition) != "timerEventDefinition":
            properties["event"] = _local(definition)
            for k, v in definition.attrib.items():
                if k != "id":
                    properties[f"event.{_attr_name(k)}"] = v
    loop = node.find(f"{{{BPMN_NS}}}multiInstanceLoopCharacteristics")
    if loop is not None:
        properties["multiInstance"] = "sequential" if loop.get("isSequential") == "true" else "parallel"
    extensions = node.find(f"{{{BPMN_NS}}}extensionElements")
    if extensions is not None:  # camunda:properties, inputOutput, formData...: compared as canonical text
        text = etree.tostring(extensions, method="c14n").decode()
        properties["extensionElements"] = " ".join(text.split())
    if node.get("id") in lanes:
        properties["lane"] = lanes[node.get("id")]
    return properties


def _row(element_id: str, props: dict[str, Any]) -> dict[str, Any]:
    return {"id": element_id, "type": props["type"], "category": category(props["type"]), "name": props.get("name")}


def diff(old: str | bytes, new: str | bytes, *, old_name: str = "from.bpmn", new_name: str = "to.bpmn") -> dict:
    """What changed from `old` to `new`, element by element, with summaries of timers and forms."""
    before, after = _elements(old, old_name), _elements(new, new_name)
    added = [_row(i, after[i]) for i in after if i not in before]
    removed = [_row(i, before[i]) for i in before if i not in after]
    changed = []
    for element_id in (i for i in after if i in before):
        a, b = before[element_id], after[element_id]
        changes = {k: {"from": a.get(k), "to": b.get(k)} for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)}
        if changes:
            changed.append({**_row(element_id, b), "changes": changes})
    timers = _timers(before, after)
    forms = _forms(before, after)
    summary: dict[str, dict[str, int]] = {}
    for verb, rows in (("added", added), ("removed", removed), ("changed", changed)):
        for row in rows:
            summary.setdefault(row["category"], {"added": 0, "removed": 0, "changed": 0})[verb] += 1
    return {"added": added, "removed": removed, "changed": changed, "timers": timers, "forms": forms,
            "summary": summary, "identical": not (added or removed or changed)}


def _timers(before: dict, after: dict) -> list[dict]:
    rows = []
    for element_id in sorted(set(before) | set(after)):
        a = {k: v for k, v in before.get(element_id, {}).items() if k.startswith("timer.")}
        b = {k: v for k, v in after.get(element_id, {}).items() if k.startswith("timer.")}
        if a != b:
            status = "added" if not a else "removed" if not b else "changed"
            rows.append({"id": element_id, "status": status, "from": a or None, "to": b or None})
    return rows


def _forms(before: dict, after: dict) -> list[dict]:
    rows = []
    for element_id in sorted(set(before) | set(after)):
        a = before.get(element_id, {}).get("camunda:formKey")
        b = after.get(element_id, {}).get("camunda:formKey")
        if a != b:
            status = "added" if a is None else "removed" if b is None else "changed"
            rows.append({"id": element_id, "status": status, "from": a, "to": b})
    return rows
