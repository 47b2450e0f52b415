"""A readable difference between two playbook texts: per section, then line by line."""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from typing import Any

import yaml

__all__ = ["Change", "PlaybookDiff", "SectionDiff", "diff_playbooks"]

_SECTION_ORDER = (
    "name",
    "description",
    "value",
    "actions",
    "eligibility",
    "contact_policies",
    "consent",
    "capacity",
    "thresholds",
    "autonomy",
    "measurement",
    "ownership",
    "signals",
)


@dataclass(frozen=True)
class Change:
    """One key that was added, removed or changed (``old``/``new`` are None when absent)."""

    path: str
    kind: str
    """``added``, ``removed`` or ``changed``."""
    old: Any = None
    new: Any = None

    def describe(self) -> str:
        """Return a one-line, human-readable account of the change."""
        if self.kind == "added":
            return f"+ {self.path}: {_show(self.new)}"
        if self.kind == "removed":
            return f"- {self.path}: {_show(self.old)}"
        return f"~ {self.path}: {_show(self.old)} → {_show(self.new)}"


@dataclass(frozen=True)
class SectionDiff:
    """The changes inside one top-level section."""

    section: str
    changes: tuple[Change, ...]


@dataclass(frozen=True)
class PlaybookDiff:
    """What changed between two versions: a structural summary and a unified text diff."""

    old_label: str
    new_label: str
    sections: tuple[SectionDiff, ...]
    text: str

    @property
    def unchanged(self) -> bool:
        """True when the two texts are identical."""
        return not self.sections and not self.text

    def summary(self) -> str:
        """Return the structural summary as indented lines, section by section."""
        if not self.sections:
            note = " (only comments or layout differ)" if self.text else ""
            return f"no changes in rules{note}"
        lines = []
        for section in self.sections:
            lines.append(f"{section.section}:")
            lines += [f"  {change.describe()}" for change in section.changes]
        return "\n".join(lines)


def diff_playbooks(old: str, new: str, *, old_label: str, new_label: str) -> PlaybookDiff:
    """Return the difference between two playbook texts (both must be valid YAML)."""
    before = _flatten(yaml.safe_load(old) or {})
    after = _flatten(yaml.safe_load(new) or {})
    changes: dict[str, list[Change]] = {}
    for path in sorted(before.keys() | after.keys(), key=_path_order):
        section = path.split(".", 1)[0].split("[", 1)[0]
        if path not in after:
            change = Change(path, "removed", old=before[path])
        elif path not in before:
            change = Change(path, "added", new=after[path])
        elif before[path] != after[path]:
            change = Change(path, "changed", old=before[path], new=after[path])
        else:
            continue
        changes.setdefault(section, []).append(change)
    text = "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True),
            new.splitlines(keepends=True),
            fromfile=old_label,
            tofile=new_label,
        )
    )
    sections = tuple(SectionDiff(name, tuple(found)) for name, found in changes.items())
    return PlaybookDiff(old_label, new_label, sections, text)


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Return leaf paths → values; list items with an ``id`` are keyed by it, not position."""
    if isinstance(value, dict):
        if not value and prefix:
            return {prefix: {}}
        found: dict[str, Any] = {}
        for key, item in value.items():
            found.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return found
    if isinstance(value, list) and value and all(_has_id(item) for item in value):
        ids = [str(item["id"]) for item in value]
        if len(set(ids)) == len(ids):
            return {
                k: v for item in value for k, v in _flatten(item, f"{prefix}[{item['id']}]").items()
            }
    if isinstance(value, list) and any(isinstance(item, dict | list) for item in value):
        return {
            k: v
            for i, item in enumerate(value)
            for k, v in _flatten(item, f"{prefix}[{i}]").items()
        }
    return {prefix: value}


def _has_id(item: Any) -> bool:
    return isinstance(item, dict) and isinstance(item.get("id"), str | int)


def _path_order(path: str) -> tuple[int, str]:
    section = path.split(".", 1)[0].split("[", 1)[0]
    rank = _SECTION_ORDER.index(section) if section in _SECTION_ORDER else len(_SECTION_ORDER)
    return rank, path


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)
