"""Editing a real matter's diagram the way an analyst would in the modeler: add a step, rename one, remove one."""

from __future__ import annotations

from lxml import etree

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
DI = "http://www.omg.org/spec/BPMN/20100524/DI"
CAMUNDA = "http://camunda.org/schema/1.0/bpmn"


def _q(local: str) -> str:
    return f"{{{BPMN}}}{local}"


class Diagram:
    def __init__(self, content: bytes) -> None:
        self.tree = etree.fromstring(content)
        self.process = self.tree.find(_q("process"))

    def bytes(self) -> bytes:
        return etree.tostring(self.tree, xml_declaration=True, encoding="UTF-8")

    def element(self, element_id: str):
        return self.process.find(f".//*[@id='{element_id}']")

    def _flows(self):
        return self.process.findall(_q("sequenceFlow"))

    def rename(self, old: str, new: str) -> "Diagram":
        """A new id for an element (its name stays): every reference follows."""
        self.element(old).set("id", new)
        for flow in self._flows():
            for attr in ("sourceRef", "targetRef"):
                if flow.get(attr) == old:
                    flow.set(attr, new)
        for ref in self.process.iter(_q("flowNodeRef")):
            if ref.text == old:
                ref.text = new
        for node in self.process.iter():
            if node.get("attachedToRef") == old:
                node.set("attachedToRef", new)
        for shape in self.tree.iter(f"{{{DI}}}BPMNShape"):
            if shape.get("bpmnElement") == old:
                shape.set("bpmnElement", new)
        return self

    def insert_before(self, target: str, new_id: str, name: str, form_key: str, lane_of: str | None = None) -> "Diagram":
        """A user task put on every flow that enters `target`."""
        task = etree.SubElement(self.process, _q("userTask"), {"id": new_id, "name": name,
                                                               f"{{{CAMUNDA}}}formKey": form_key})
        for flow in self._flows():
            if flow.get("targetRef") == target:
                flow.set("targetRef", new_id)
                etree.SubElement(task, _q("incoming")).text = flow.get("id")
        out = f"Flow_{new_id}_to_{target}"
        etree.SubElement(task, _q("outgoing")).text = out
        node = self.element(target)
        for incoming in node.findall(_q("incoming")):
            node.remove(incoming)
        incoming = etree.Element(_q("incoming"))
        incoming.text = out
        # after the element's documentation and extensionElements, as the schema orders a flow node's children
        heads = [child for child in node if child.tag in (_q("documentation"), _q("extensionElements"))]
        node.insert(node.index(heads[-1]) + 1 if heads else 0, incoming)
        etree.SubElement(self.process, _q("sequenceFlow"), {"id": out, "sourceRef": new_id, "targetRef": target})
        self._lane_ref(new_id, lane_of or target)
        return self

    def remove(self, element_id: str) -> "Diagram":
        """Take out a task with one way in and one way out: its incoming flows go where it went."""
        node = self.element(element_id)
        outgoing = [f for f in self._flows() if f.get("sourceRef") == element_id]
        assert len(outgoing) == 1
        after = outgoing[0].get("targetRef")
        for flow in self._flows():
            if flow.get("targetRef") == element_id:
                flow.set("targetRef", after)
        after_node = self.element(after)
        for incoming in after_node.findall(_q("incoming")):
            if incoming.text == outgoing[0].get("id"):
                after_node.remove(incoming)
        first_out = after_node.find(_q("outgoing"))
        for incoming in node.findall(_q("incoming")):
            moved = etree.Element(_q("incoming"))
            moved.text = incoming.text
            if first_out is not None:
                first_out.addprevious(moved)
            else:
                after_node.append(moved)
        for item in (outgoing[0], node):
            item.getparent().remove(item)
        for ref in list(self.process.iter(_q("flowNodeRef"))):
            if ref.text == element_id:
                ref.getparent().remove(ref)
        for edge in list(self.tree.iter(f"{{{DI}}}BPMNShape", f"{{{DI}}}BPMNEdge")):
            if edge.get("bpmnElement") in (element_id, outgoing[0].get("id")):
                edge.getparent().remove(edge)
        return self

    def _lane_ref(self, element_id: str, like: str) -> None:
        for ref in self.process.iter(_q("flowNodeRef")):
            if ref.text == like:
                etree.SubElement(ref.getparent(), _q("flowNodeRef")).text = element_id
                return
