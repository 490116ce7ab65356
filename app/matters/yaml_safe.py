"""Loading a matter record's YAML as plain data, with bounded work.

A record is text, numbers, true/false, lists and mappings: PyYAML's safe loader, narrowed further —
- no aliases or anchors (`&a` / `*a`): a 2 KB file of nested aliases expands to millions of elements;
- no tags that build anything but those: `!!binary`, `!!set`, `!!omap`, `!!pairs` are refused (and anything
  else unknown, as the safe loader already does); dates stay the text they are (`2008-10-28`), so a date the
  calendar does not have (`0000-01-01`) is a field error of the record, not a crash;
- numbers are finite (`.inf`, `.nan` are refused) and integers have at most 18 digits;
- at most `MAX_BYTES` of text, `MAX_DEPTH` levels and `MAX_NODES` nodes.
Every refusal is a `yaml.YAMLError` with the line, which the matter service turns into a 422 naming the file.
"""

from __future__ import annotations

import math
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError
from yaml.events import AliasEvent, CollectionStartEvent, ScalarEvent

MAX_BYTES = 256 * 1024  # a record is a few KB
MAX_DEPTH = 16
MAX_NODES = 20_000
MAX_INT_DIGITS = 18


class TooLarge(yaml.YAMLError):
    pass


class _RecordLoader(yaml.SafeLoader):
    def __init__(self, stream) -> None:
        super().__init__(stream)
        self._depth = 0
        self._nodes = 0

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, AliasEvent):
            raise ComposerError(None, None, "不允许 YAML 别名 (*alias): 请直接写出内容", event.start_mark)
        if isinstance(event, (ScalarEvent, CollectionStartEvent)) and event.anchor is not None:
            raise ComposerError(None, None, "不允许 YAML 锚点与别名 (&anchor, *alias)", event.start_mark)
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise ComposerError(None, None, f"内容过多（超过 {MAX_NODES} 项）", event.start_mark)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise ComposerError(None, None, f"嵌套过深（超过 {MAX_DEPTH} 层）", event.start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _refuse(loader: yaml.SafeLoader, node) -> Any:
    raise ConstructorError(None, None, f"不支持的 YAML 标签 {node.tag}（事项记录只含文本、数字、是否、列表和对象）",
                           node.start_mark)


def _text(loader: yaml.SafeLoader, node) -> str:
    return loader.construct_scalar(node)


def _int(loader: yaml.SafeLoader, node) -> int:
    text = loader.construct_scalar(node)
    if sum(ch.isdigit() for ch in text) > MAX_INT_DIGITS:
        raise ConstructorError(None, None, f"整数过大（超过 {MAX_INT_DIGITS} 位）", node.start_mark)
    return yaml.SafeLoader.construct_yaml_int(loader, node)


def _float(loader: yaml.SafeLoader, node) -> float:
    value = yaml.SafeLoader.construct_yaml_float(loader, node)
    if not math.isfinite(value):
        raise ConstructorError(None, None, "数值必须是有限数 (.inf / .nan are not numbers of a record)",
                               node.start_mark)
    return value


for _tag in ("binary", "set", "omap", "pairs"):
    _RecordLoader.add_constructor(f"tag:yaml.org,2002:{_tag}", _refuse)
_RecordLoader.add_constructor("tag:yaml.org,2002:timestamp", _text)  # dates are checked as fields
_RecordLoader.add_constructor("tag:yaml.org,2002:int", _int)
_RecordLoader.add_constructor("tag:yaml.org,2002:float", _float)


def load(text: str) -> Any:
    """The record's data; yaml.YAMLError (with a mark where there is one) for anything refused."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise TooLarge(f"事项文件过大（超过 {MAX_BYTES // 1024} KB）")
    loader = _RecordLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()
