"""YAML loading that remembers where every key and value was written.

PyYAML's composer gives nodes with marks; walking the node tree before it is
constructed records, for each key path, the mark of the key and of its value, so a
validation error at ``buses[0].meters[2].adress`` can point at line and column.
Duplicate keys, which PyYAML silently resolves to the last, are reported here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

import yaml

from ._errors import ConfigProblem, Loc

__all__ = ["MarkedDocument", "Position", "load_marked"]

# libyaml's parser where PyYAML was built with it: a 32-meter file loads ~8x faster,
# which a daemon opening 64 simulated buses notices. Same nodes and marks either way.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_MERGE_TAG: Final = "tag:yaml.org,2002:merge"


@dataclass(frozen=True, slots=True)
class Position:
    """1-based line and column."""

    line: int
    column: int

    @classmethod
    def of(cls, mark: yaml.Mark) -> Position:
        return cls(mark.line + 1, mark.column + 1)


@dataclass(slots=True)
class MarkedDocument:
    data: Any
    keys: dict[Loc, Position] = field(default_factory=dict)
    """Where the key of a mapping entry is written."""
    values: dict[Loc, Position] = field(default_factory=dict)
    """Where a value (scalar, mapping or sequence) starts."""
    problems: list[ConfigProblem] = field(default_factory=list)

    def position(self, path: Loc, *, key: bool = False) -> Position | None:
        """The position of ``path``, or of the nearest enclosing value that was written."""
        if key and path in self.keys:
            return self.keys[path]
        for end in range(len(path), -1, -1):
            found = self.values.get(path[:end])
            if found is not None:
                return found
        return None


def load_marked(text: str, filename: str) -> MarkedDocument:
    """Parse one YAML document; ``yaml.YAMLError`` for syntax errors."""
    loader = _LOADER(text)
    try:
        node = loader.get_single_node()
        document = MarkedDocument(data=None)
        if node is None:
            return document
        _Walker(loader, document, filename).walk(node, ())
        document.data = loader.construct_document(node)
        return document
    finally:
        loader.dispose()


class _Walker:
    def __init__(self, loader: yaml.SafeLoader, document: MarkedDocument, filename: str) -> None:
        self._loader = loader
        self._document = document
        self._filename = filename
        self._stack: set[int] = set()

    def walk(self, node: yaml.Node, path: Loc) -> None:
        self._document.values.setdefault(path, Position.of(node.start_mark))
        if id(node) in self._stack:
            return  # a recursive alias; construction reports what it makes of it
        self._stack.add(id(node))
        try:
            if isinstance(node, yaml.MappingNode):
                self._mapping(node, path)
            elif isinstance(node, yaml.SequenceNode):
                for index, item in enumerate(node.value):
                    self.walk(item, (*path, index))
        finally:
            self._stack.discard(id(node))

    def _mapping(self, node: yaml.MappingNode, path: Loc) -> None:
        seen: set[Any] = set()
        merged: list[yaml.Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                merged.append(value_node)
                continue
            key = self._key(key_node)
            if key is None:
                continue
            if key in seen:
                self._document.problems.append(
                    ConfigProblem(
                        file=self._filename,
                        line=key_node.start_mark.line + 1,
                        column=key_node.start_mark.column + 1,
                        path=(*path, key),
                        message="duplicate key (YAML would silently keep the last one)",
                    )
                )
            seen.add(key)
            self._document.keys[(*path, key)] = Position.of(key_node.start_mark)
            self.walk(value_node, (*path, key))
        # Keys brought in by `<<: *anchor` point at the anchor's text unless the
        # mapping sets them itself (the walk above ran first and setdefault keeps it).
        for source in merged:
            sources = source.value if isinstance(source, yaml.SequenceNode) else [source]
            for mapping in sources:
                if isinstance(mapping, yaml.MappingNode):
                    for key_node, value_node in mapping.value:
                        key = self._key(key_node)
                        if key is not None and key not in seen:
                            self._document.keys.setdefault(
                                (*path, key), Position.of(key_node.start_mark)
                            )
                            self.walk(value_node, (*path, key))

    def _key(self, node: yaml.Node) -> str | int | None:
        if not isinstance(node, yaml.ScalarNode):
            return None
        value = self._loader.construct_object(node)
        # Paths are made of str and int, as pydantic's error locations are.
        if isinstance(value, bool):
            return str(value).lower()
        return value if isinstance(value, str | int) else str(value)
