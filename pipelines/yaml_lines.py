"""Line numbers of the fields of a YAML document, so that an issue found on the parsed data can
say where in the file it is."""

import re

import yaml

_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def field_parts(dotted: str) -> list[str | int]:
    """`alerts[1].threshold` → `["alerts", 1, "threshold"]`."""
    return [int(index) if index else name for name, index in _PART.findall(dotted)]


class YamlLines:
    """The 1-based line of a path of keys and list indexes in one YAML document: the line of the
    deepest part of the path that the document has (a missing field points at its section)."""

    def __init__(self, text: str) -> None:
        try:
            self._root: yaml.Node | None = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError:
            self._root = None

    def line_of(self, parts: list[str | int]) -> int | None:
        node = self._root
        line: int | None = None
        for part in parts:
            child = _child(node, part)
            if child is None:
                break
            key_node, node = child
            line = key_node.start_mark.line + 1
        return line


def _child(node: yaml.Node | None, part: str | int) -> tuple[yaml.Node, yaml.Node] | None:
    """The node naming `part` (a mapping key, or the list item itself) and the value under it."""
    if isinstance(node, yaml.MappingNode) and isinstance(part, str):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == part:
                return key, value
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
        item = node.value[part]
        return item, item
    return None
