"""Add diagram interchange (BPMN DI) to BPMN files that have none, so that a modeler can open them.

    python tools/bpmn_di.py FILE...

A plain left-to-right layout: each process (and each subprocess, drawn expanded around its content) places
its flow nodes in columns by their distance from a start, boundary events on their host's lower edge,
and sequence flows as straight or one-bend lines. Good enough for the small diagrams of the conformance
suite; the hall's own diagrams come from `generate_processes.py`, which lays out lanes.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

from lxml import etree

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"
FLOW_NODES = {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "task", "userTask",
              "manualTask", "scriptTask", "serviceTask", "sendTask", "receiveTask", "businessRuleTask",
              "callActivity", "subProcess", "transaction", "exclusiveGateway", "parallelGateway",
              "inclusiveGateway", "eventBasedGateway", "complexGateway"}
CONTAINERS = {"subProcess", "transaction"}


def _local(node) -> str:
    return etree.QName(node).localname if isinstance(node.tag, str) else ""


def _size(node) -> tuple[int, int]:
    local = _local(node)
    if local.endswith("Event"):
        return 36, 36
    if local.endswith("Gateway"):
        return 50, 50
    return 100, 80


class Layout:
    def __init__(self) -> None:
        self.bounds: dict[str, tuple[int, int, int, int]] = {}

    def place(self, container, x0: int, y0: int) -> tuple[int, int]:
        """Lay out a process or subprocess's content from (x0, y0); returns the width and height used."""
        nodes = [n for n in container if _local(n) in FLOW_NODES]
        flows = [n for n in container if _local(n) == "sequenceFlow"]
        outgoing = defaultdict(list)
        incoming = defaultdict(int)
        for flow in flows:
            outgoing[flow.get("sourceRef")].append(flow.get("targetRef"))
            incoming[flow.get("targetRef")] += 1
        column: dict[str, int] = {}
        queue = [n.get("id") for n in nodes if incoming[n.get("id")] == 0]
        for node_id in queue:
            column.setdefault(node_id, 0)
        while queue:
            current = queue.pop(0)
            for target in outgoing[current]:
                if target not in column:
                    column[target] = column[current] + 1
                    queue.append(target)
        rows: dict[int, int] = defaultdict(int)
        sizes = {}
        for node in nodes:
            node_id = node.get("id")
            if _local(node) in CONTAINERS and not node.get("triggeredByEvent") == "true":
                inner_w, inner_h = self.place(node, 0, 0)  # measured first, moved below
                sizes[node_id] = (max(inner_w + 60, 100), max(inner_h + 60, 80))
            elif node.get("triggeredByEvent") == "true":
                inner_w, inner_h = self.place(node, 0, 0)
                sizes[node_id] = (max(inner_w + 60, 100), max(inner_h + 60, 80))
            else:
                sizes[node_id] = _size(node)
        col_width = 180
        widths = defaultdict(int)
        for node in nodes:
            widths[column.get(node.get("id"), 0)] = max(widths[column.get(node.get("id"), 0)],
                                                        sizes[node.get("id")][0])
        col_x = {}
        x = x0 + 40
        for col in sorted(widths):
            col_x[col] = x
            x += max(widths[col], col_width - 40) + 60
        height = 0
        row_y: dict[int, int] = defaultdict(lambda: y0 + 40)
        for node in nodes:
            node_id = node.get("id")
            col = column.get(node_id, 0)
            w, h = sizes[node_id]
            top = row_y[col]
            left = col_x[col] + (widths[col] - w) // 2
            self._move(node, node_id, left, top, w, h)
            row_y[col] = top + max(h, 80) + 50
            rows[col] += 1
            height = max(height, row_y[col] - y0)
        for boundary in (n for n in container if _local(n) == "boundaryEvent"):
            host = self.bounds.get(boundary.get("attachedToRef"))
            if host is None:
                continue
            siblings = [b for b in container if _local(b) == "boundaryEvent"
                        and b.get("attachedToRef") == boundary.get("attachedToRef")]
            index = siblings.index(boundary)
            self.bounds[boundary.get("id")] = (host[0] + 10 + 45 * index, host[1] + host[3] - 18, 36, 36)
        return x - x0, height

    def _move(self, node, node_id, left, top, w, h) -> None:
        old = self.bounds.get(node_id)
        self.bounds[node_id] = (left, top, w, h)
        if _local(node) in CONTAINERS:
            dx = left - (old[0] if old else 0)
            dy = top - (old[1] if old else 0)
            for child in node.iter():
                child_id = child.get("id") if isinstance(child.tag, str) else None
                if child is not node and child_id in self.bounds and _local(child) != "sequenceFlow":
                    bx, by, bw, bh = self.bounds[child_id]
                    self.bounds[child_id] = (bx + dx + 30, by + dy + 10, bw, bh)


def add_di(path: Path) -> None:
    tree = etree.parse(str(path))
    root = tree.getroot()
    for old in root.findall(f"{{{BPMNDI}}}BPMNDiagram"):
        root.remove(old)
    y = 0
    for process in root.findall(f"{{{BPMN}}}process"):
        layout = Layout()
        _, height = layout.place(process, 0, y)
        diagram = etree.SubElement(root, f"{{{BPMNDI}}}BPMNDiagram", id=f"BPMNDiagram_{process.get('id')}")
        plane = etree.SubElement(diagram, f"{{{BPMNDI}}}BPMNPlane", id=f"BPMNPlane_{process.get('id')}",
                                 bpmnElement=process.get("id"))
        for node in process.iter():
            node_id = node.get("id") if isinstance(node.tag, str) else None
            if node_id in layout.bounds:
                x, yy, w, h = layout.bounds[node_id]
                attrs = {"id": f"{node_id}_di", "bpmnElement": node_id}
                if _local(node) in CONTAINERS:
                    attrs["isExpanded"] = "true"
                shape = etree.SubElement(plane, f"{{{BPMNDI}}}BPMNShape", **attrs)
                etree.SubElement(shape, f"{{{DC}}}Bounds", x=str(x), y=str(yy), width=str(w), height=str(h))
        for flow in process.iter(f"{{{BPMN}}}sequenceFlow"):
            source = layout.bounds.get(flow.get("sourceRef"))
            target = layout.bounds.get(flow.get("targetRef"))
            if source is None or target is None:
                continue
            edge = etree.SubElement(plane, f"{{{BPMNDI}}}BPMNEdge", id=f"{flow.get('id')}_di",
                                    bpmnElement=flow.get("id"))
            sx, sy = source[0] + source[2], source[1] + source[3] // 2
            tx, ty = target[0], target[1] + target[3] // 2
            points = [(sx, sy), (tx, ty)] if sy == ty else [(sx, sy), ((sx + tx) // 2, sy), ((sx + tx) // 2, ty),
                                                             (tx, ty)]
            for px, py in points:
                etree.SubElement(edge, f"{{{DI}}}waypoint", x=str(px), y=str(py))
        y += height + 100
    etree.indent(tree, space="  ")
    tree.write(str(path), xml_declaration=True, encoding="UTF-8")


def main(argv: list[str]) -> int:
    for name in argv:
        add_di(Path(name))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
