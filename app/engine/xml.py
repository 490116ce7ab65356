"""Hardened XML parsing for uploaded BPMN and DMN files."""

from __future__ import annotations

from lxml import etree

from .errors import DefinitionError

# No DTDs, no entities, no network: uploaded diagrams are untrusted input.
_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,
    remove_comments=False,
)


def parse_xml(content: bytes, filename: str) -> etree._ElementTree:
    """Parse bytes into an lxml tree, refusing DTDs, entity declarations and malformed XML."""
    if b"<!DOCTYPE" in content or b"<!ENTITY" in content:
        raise DefinitionError(
            "XML 文件不得包含 DOCTYPE 或实体声明 (DTD/entities are not allowed)",
            filename=filename,
        )
    try:
        tree = etree.ElementTree(etree.fromstring(content, _PARSER))
    except etree.XMLSyntaxError as exc:
        raise DefinitionError(
            f"XML 格式错误: {exc.msg}", filename=filename, line=exc.lineno
        ) from None
    if tree.docinfo.internalDTD is not None or tree.docinfo.doctype:
        raise DefinitionError("XML 文件不得包含 DOCTYPE", filename=filename)
    return tree
