"""Where each value of a YAML document sits, so problems can name a line and a column."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["NodePosition", "Path", "SourceMap", "format_path"]

Path = tuple[str | int, ...]
"""Keys and list indexes from the document root to a value: ``("eligibility", 0, "require")``."""


@dataclass(frozen=True)
class NodePosition:
    """1-based positions of a value and of the key naming it (the value's, for list items)."""

    line: int
    column: int
    key_line: int
    key_column: int
    style: str | None = None
    """YAML scalar style: None (plain), ``'``, ``"``, ``|`` or ``>``; None for collections."""
    single_line: bool = True


@dataclass(frozen=True)
class SourceMap:
    """Positions of every key and value of one document, by path."""

    nodes: Mapping[Path, NodePosition]
    lines: Sequence[str] = ()

    def __contains__(self, path: object) -> bool:
        return path in self.nodes

    def nearest(self, path: Path) -> tuple[Path, NodePosition] | None:
        """Return the deepest located prefix of ``path`` (the value itself when it exists)."""
        for end in range(len(path), -1, -1):
            found = self.nodes.get(path[:end])
            if found is not None:
                return path[:end], found
        return None

    def locate(self, path: Path, *, key: bool = False) -> tuple[int | None, int | None]:
        """Return (line, column) of the value at ``path`` (or of its key), else of its parent."""
        found = self.nearest(path)
        if found is None:
            return None, None
        _, node = found
        return (node.key_line, node.key_column) if key else (node.line, node.column)

    def locate_in_scalar(self, path: Path, line: int, column: int) -> tuple[int | None, int | None]:
        """Return the document position of ``line``:``column`` of the string value at ``path``.

        Exact for one-line plain or quoted scalars and ``|`` blocks; otherwise the start of
        the value (folded text no longer lines up with the document).
        """
        node = self.nodes.get(path)
        if node is None:
            return self.locate(path)
        if node.style in (None, "'", '"') and node.single_line and line == 1:
            return node.line, node.column + (0 if node.style is None else 1) + column - 1
        if node.style == "|" and node.line + line - 1 < len(self.lines):
            first = self.lines[node.line]  # the block's indentation is its first line's
            indent = len(first) - len(first.lstrip(" "))
            return node.line + line, indent + column
        return node.line, node.column


def format_path(path: Path) -> str:
    """Return ``eligibility[0].require`` for ``("eligibility", 0, "require")``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text
