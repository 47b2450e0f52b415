"""What each record field accepts, derived from the domain models.

The columnar validator checks whole batches at once; deriving its rules from the
pydantic models keeps one definition of every constraint.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Literal

from annotated_types import Ge, MaxLen, MinLen
from pydantic import BeforeValidator, StringConstraints
from pydantic.fields import FieldInfo

from nextmove.domain import Record

__all__ = ["BaseType", "FieldSpec", "field_specs"]

BaseType = Literal["str", "int", "float", "bool", "date", "datetime", "enum", "list"]


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """The rules one field of one record type imposes on its values."""

    name: str
    base: BaseType
    required: bool
    default: Any = None
    min_length: int | None = None
    max_length: int | None = None
    ge: float | None = None
    pattern: str | None = None
    lowercase: bool = False
    allow_inf_nan: bool = True
    choices: tuple[str, ...] = ()

    def describe(self) -> str:
        """Return what a valid value looks like, for error messages."""
        match self.base:
            case "int":
                return "a whole number"
            case "float":
                return "a number"
            case "bool":
                return "true or false"
            case "date":
                return "a date like 2026-03-31"
            case "datetime":
                return "a date-time like 2026-03-31T14:05:00Z"
            case "enum":
                return "one of " + ", ".join(self.choices)
            case "list":
                return "a list of ids"
            case _:
                return "text"


def field_specs(record_type: type[Record]) -> tuple[FieldSpec, ...]:
    """Return the spec of every field of ``record_type``, in declaration order."""
    return tuple(_spec(name, info) for name, info in record_type.model_fields.items())


def _spec(name: str, info: FieldInfo) -> FieldSpec:
    annotation, metadata = _unwrap(info.annotation)
    metadata = _flatten([*metadata, *info.metadata])
    base, choices = _base_type(annotation)
    values: dict[str, Any] = {}
    for item in metadata:
        if isinstance(item, StringConstraints):
            values.update(
                min_length=item.min_length, max_length=item.max_length, pattern=item.pattern
            )
        elif isinstance(item, MaxLen):
            values["max_length"] = item.max_length
        elif isinstance(item, MinLen):
            values["min_length"] = item.min_length
        elif isinstance(item, Ge):
            values["ge"] = float(item.ge)  # type: ignore[arg-type]
        elif isinstance(item, BeforeValidator):
            values["lowercase"] = True
        elif type(item).__name__ == "AllowInfNan":
            values["allow_inf_nan"] = bool(item.allow_inf_nan)
    default = None if info.is_required() else info.get_default(call_default_factory=True)
    if isinstance(default, StrEnum):
        default = default.value
    return FieldSpec(
        name=name,
        base=base,
        required=info.is_required(),
        default=default,
        choices=choices,
        **{key: value for key, value in values.items() if value is not None},
    )


def _flatten(metadata: list[Any]) -> list[Any]:
    """Expand ``Field(...)`` objects nested in ``Annotated`` into their constraints."""
    flat: list[Any] = []
    for item in metadata:
        flat.extend(_flatten(list(item.metadata)) if isinstance(item, FieldInfo) else [item])
    return flat


def _unwrap(annotation: Any) -> tuple[Any, list[Any]]:
    """Strip ``Optional`` and ``Annotated`` layers, collecting their metadata."""
    metadata: list[Any] = []
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation, *extra = typing.get_args(annotation)
            metadata.extend(extra)
        elif origin in (typing.Union, types.UnionType):
            args = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
            annotation = args[0]
        else:
            return annotation, metadata


def _base_type(annotation: Any) -> tuple[BaseType, tuple[str, ...]]:
    if typing.get_origin(annotation) is tuple:
        return "list", ()
    if isinstance(annotation, type) and issubclass(annotation, StrEnum):
        return "enum", tuple(member.value for member in annotation)
    simple: dict[Any, BaseType] = {
        str: "str",
        bool: "bool",
        int: "int",
        float: "float",
        datetime: "datetime",
        date: "date",
    }
    if annotation in simple:
        return simple[annotation], ()
    raise TypeError(f"no import rule for field type {annotation!r}")
