"""Find and load column mappings (YAML) by name or path."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import yaml
from pydantic import ValidationError

from nextmove.errors import MappingError, NotFound
from nextmove.foundation.model import ColumnMapping
from nextmove.foundation.schema import record_schema

__all__ = ["BUILTIN_MAPPINGS", "available_mappings", "load_mapping"]

BUILTIN_MAPPINGS = Path(__file__).parent / "builtin_mappings"


def available_mappings(search_dirs: Sequence[Path] = ()) -> dict[str, list[str]]:
    """Return mapping name → kinds it covers, from the built-in and extra folders."""
    found: dict[str, list[str]] = {}
    for folder in (*search_dirs, BUILTIN_MAPPINGS):
        if not folder.is_dir():
            continue
        for directory in sorted(p for p in folder.iterdir() if p.is_dir()):
            kinds = sorted(f.stem for f in directory.glob("*.yaml"))
            found.setdefault(directory.name, kinds)
    return found


def load_mapping(name_or_path: str, kind: str, search_dirs: Sequence[Path] = ()) -> ColumnMapping:
    """Return the mapping for ``kind`` named ``name_or_path`` (a name or a YAML file).

    A name is looked up as ``<dir>/<name>/<kind>.yaml`` in ``search_dirs`` and then in the
    built-in mappings; ``canonical`` needs no file (columns named as the record's fields).
    """
    schema = record_schema(kind)
    candidate = Path(name_or_path)
    if candidate.suffix in (".yaml", ".yml") or candidate.is_file():
        return _load_file(candidate, kind, schema.field_names)
    if candidate.is_dir():
        return _load_file(candidate / f"{kind}.yaml", kind, schema.field_names)
    for folder in (*search_dirs, BUILTIN_MAPPINGS):
        path = folder / name_or_path / f"{kind}.yaml"
        if path.is_file():
            return _load_file(path, kind, schema.field_names)
    if name_or_path == "canonical":
        return ColumnMapping(kind=kind, name="canonical")
    known = ", ".join(
        name for name, kinds in available_mappings(search_dirs).items() if kind in kinds
    )
    raise NotFound(
        f"no mapping {name_or_path!r} for {kind}; built-in mappings for {kind}: "
        f"{known or 'none'} (or pass a path to a YAML file)"
    )


def _load_file(path: Path, kind: str, fields: tuple[str, ...]) -> ColumnMapping:
    if not path.is_file():
        raise NotFound(f"mapping file {path} does not exist")
    try:
        content = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise MappingError(f"mapping {path} is not valid YAML{where}: {exc}") from exc
    if not isinstance(content, dict):
        raise MappingError(f"mapping {path} must be a YAML mapping with kind: and columns:")
    content.setdefault("name", path.parent.name if path.stem == kind else path.stem)
    try:
        mapping = ColumnMapping.model_validate(content)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}" for error in exc.errors()
        )
        raise MappingError(f"mapping {path} is invalid: {problems}") from exc
    if mapping.kind != kind:
        raise MappingError(f"mapping {path} is for {mapping.kind}, not {kind}")
    for section in ("columns", "values", "scale", "defaults"):
        unknown = sorted(set(getattr(mapping, section)) - set(fields))
        if unknown:
            raise MappingError(
                f"mapping {path}: {section} names unknown {kind} field(s) {', '.join(unknown)}; "
                f"fields are {', '.join(fields)}"
            )
    return mapping
