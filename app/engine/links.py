"""Link events, BPMN's off-page connectors: a throwing link goes on at the catching link of the same name in its
process or subprocess, as if a sequence flow joined them. SpiffWorkflow 3.2 has no link events; the intermediate
event parsers (parser.py, spiff_dialect.py) mix this in, so that both ends become pass-through events and the
throwing one is connected to the catching one when the diagram is parsed. Nothing of it is left at run time."""

from __future__ import annotations

from lxml import etree
from SpiffWorkflow.bpmn.specs.defaults import IntermediateThrowEvent
from SpiffWorkflow.bpmn.specs.event_definitions.simple import NoneEventDefinition

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"


def _link_name(node) -> str | None:
    """The link's name (its definition's: BPMN's schema requires one), or None when the event is no link."""
    definition = node.find(f"{{{BPMN}}}linkEventDefinition")
    return None if definition is None else (definition.get("name") or "").strip()


class LinkEvents:
    """For an intermediate catch or throw event's parser."""

    def link_task(self):
        """A link end as a pass-through event (a catching link waits for nothing); None for any other event."""
        if _link_name(self.node) is None:
            return None
        return IntermediateThrowEvent(self.spec, self.bpmn_id, event_definition=NoneEventDefinition(),
                                      **self.bpmn_attributes)

    def parse_node(self):
        task = super().parse_node()
        name = _link_name(self.node)
        if name is None or etree.QName(self.node).localname != "intermediateThrowEvent":
            return task
        if not name:
            self.raise_validation_exception("链接事件没有名称：请在抛出和捕获的链接事件上写同一个名称 (a link event needs a name)")
        if self.process_parser.get_outgoing_sequence_flows(self.bpmn_id):
            self.raise_validation_exception(f"抛出链接「{name}」不能再有流出的顺序流：流程从同名的捕获链接继续 "
                                            "(a throwing link event has no outgoing sequence flow)")
        catches = [node for node in self.node.getparent()
                   if isinstance(node.tag, str) and etree.QName(node).localname == "intermediateCatchEvent"
                   and _link_name(node) == name]
        if len(catches) != 1:
            where = "没有" if not catches else f"有 {len(catches)} 个"
            self.raise_validation_exception(f"同一流程（或子流程）中{where}名为「{name}」的捕获链接事件，抛出链接无处可去 "
                                            f"(a throwing link needs exactly one catching link named {name!r} in its "
                                            "process or subprocess)")
        self.task.connect(self.process_parser.parse_node(catches[0]))
        return task
