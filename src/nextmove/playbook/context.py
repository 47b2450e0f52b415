"""The account context expressions are checked against, and the columns they read.

An expression reads one frame with a row per account. Fields are columns of the same name;
each function call with literal arguments reads one column, named by the function:

=================================  ======================================  =======
call                               column the decision engine provides     type
=================================  ======================================  =======
``holds("prod-x")``                ``holds__prod-x``                       bool
``has_open_opportunity("p")``      ``open_opportunity__p``                 bool
``has_open_ticket("P1")``          ``open_ticket_p1`` (priority lowered)   bool
``signal_count("s", 30)``          ``signals__s__30d`` (events in 30 days) number
``signal_score("s")``              ``signals__s__score`` (decayed count)   number
``signal_value("s")``              ``signals__s__value`` (latest gauge)    number
``signal_open("s")``               ``signals__s__open`` (state is open)    bool
=================================  ======================================  =======

``s`` is a signal *name* declared in the playbook's ``signals`` section, not necessarily
the stored ``signal_type`` (a declaration may filter a type to one product).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

import polars as pl

from nextmove.domain import Consent, Segment
from nextmove.playbook.model import SignalKind

__all__ = [
    "ContextField",
    "ContextSchema",
    "FunctionSpec",
    "Param",
    "ValueType",
    "default_context_schema",
    "polars_type",
]


class ValueType(StrEnum):
    """The types of the expression language."""

    STRING = "string"
    NUMBER = "number"
    BOOL = "bool"
    LIST_STRING = "list<string>"
    LIST_NUMBER = "list<number>"
    NULL = "null"

    @property
    def element(self) -> ValueType | None:
        """The item type of a list type, else None."""
        return {
            ValueType.LIST_STRING: ValueType.STRING,
            ValueType.LIST_NUMBER: ValueType.NUMBER,
        }.get(self)


def polars_type(value_type: ValueType) -> pl.DataType:
    """Return the polars type a context column of ``value_type`` holds."""
    return {
        ValueType.STRING: pl.String(),
        ValueType.NUMBER: pl.Float64(),
        ValueType.BOOL: pl.Boolean(),
        ValueType.LIST_STRING: pl.List(pl.String()),
        ValueType.LIST_NUMBER: pl.List(pl.Float64()),
        ValueType.NULL: pl.Null(),
    }[value_type]


@dataclass(frozen=True)
class ContextField:
    """A named value of the account context; ``choices`` limits the strings it can hold."""

    type: ValueType
    description: str = ""
    choices: frozenset[str] | None = None


@dataclass(frozen=True)
class Param:
    """One parameter of a function; arguments are always literals."""

    name: str
    type: ValueType
    choices: frozenset[str] | None = None
    whole_number: bool = False
    minimum: float | None = None
    lower_in_column: bool = False
    """Lower-case the argument in the column name (``"P1"`` → ``open_ticket_p1``)."""


@dataclass(frozen=True)
class FunctionSpec:
    """A function of the context: its parameters, its result, and the column it reads.

    ``column_pattern`` names the column, with ``{param}`` standing for each argument
    (whole numbers written without a decimal point).
    """

    name: str
    params: tuple[Param, ...]
    returns: ValueType
    column_pattern: str
    description: str = ""

    def column(self, args: tuple[str | float, ...]) -> str:
        """Return the column a call with these (checked) literal arguments reads."""
        values = {}
        for param, value in zip(self.params, args, strict=True):
            whole = isinstance(value, float) and value.is_integer()
            text = str(int(value)) if whole else str(value)
            values[param.name] = text.lower() if param.lower_in_column else text
        return self.column_pattern.format(**values)


@dataclass(frozen=True)
class ContextSchema:
    """Everything an expression may refer to."""

    fields: Mapping[str, ContextField]
    functions: Mapping[str, FunctionSpec] = field(default_factory=dict)

    def describe(self) -> list[tuple[str, str, str]]:
        """Return (name or signature, type, column) rows for documentation."""
        rows = [(name, str(spec.type), name) for name, spec in sorted(self.fields.items())]
        for name, fn in sorted(self.functions.items()):
            params = ", ".join(f"{p.name}: {p.type}" for p in fn.params)
            rows.append((f"{name}({params})", str(fn.returns), fn.column_pattern))
        return rows


def _fields() -> dict[str, ContextField]:
    consent = frozenset(c.value for c in Consent)
    text, number = ValueType.STRING, ValueType.NUMBER
    return {
        "account_id": ContextField(text, "the account's id"),
        "segment": ContextField(text, "smb, mid or ent", frozenset(s.value for s in Segment)),
        "industry": ContextField(text, "industry, as imported"),
        "country": ContextField(text, "ISO country code of the account"),
        "region": ContextField(text, "sales region (NA, EMEA, APAC, LATAM, …)"),
        "employees": ContextField(number, "head count"),
        "annual_revenue": ContextField(number, "annual revenue"),
        "owner_id": ContextField(text, "owner of the account (null: unowned)"),
        "account_age_days": ContextField(number, "days since the account was created"),
        "products_held": ContextField(number, "how many products the account holds"),
        "open_opportunities": ContextField(number, "open opportunities"),
        "days_since_last_touch": ContextField(number, "days since any action touched it"),
        "days_since_last_purchase": ContextField(number, "days since the last purchase"),
        "email_consent": ContextField(text, "best contact's email consent", consent),
        "phone_consent": ContextField(text, "best contact's phone consent", consent),
        "do_not_contact": ContextField(ValueType.BOOL, "every contact is marked do-not-contact"),
    }


def _signal_param(signals: Mapping[str, SignalKind], kind: SignalKind) -> Param:
    names = frozenset(name for name, declared in signals.items() if declared is kind)
    return Param("signal", ValueType.STRING, choices=names)


def default_context_schema(
    products: Iterable[str] | None, signal_types: Mapping[str, SignalKind]
) -> ContextSchema:
    """Return the account context every playbook is checked against.

    ``products`` limits ``holds`` and ``has_open_opportunity`` to known ids (None: any id);
    ``signal_types`` maps each declared signal name to its kind, which decides the
    functions that may read it.
    """
    product = Param(
        "product", ValueType.STRING, choices=None if products is None else frozenset(products)
    )
    priority = Param(
        "priority",
        ValueType.STRING,
        choices=frozenset({"P1", "P2", "P3", "P4"}),
        lower_in_column=True,
    )
    days = Param("days", ValueType.NUMBER, whole_number=True, minimum=1)
    kinds = (SignalKind.COUNT, SignalKind.GAUGE, SignalKind.STATE)
    count, gauge, state = (_signal_param(signal_types, kind) for kind in kinds)
    b, n = ValueType.BOOL, ValueType.NUMBER
    functions = (
        FunctionSpec("holds", (product,), b, "holds__{product}", "the account holds it"),
        FunctionSpec(
            "has_open_opportunity", (product,), b, "open_opportunity__{product}", "in pipeline"
        ),
        FunctionSpec("has_open_ticket", (priority,), b, "open_ticket_{priority}", "ticket open"),
        FunctionSpec("signal_count", (count, days), n, "signals__{signal}__{days}d", "events"),
        FunctionSpec("signal_score", (count,), n, "signals__{signal}__score", "decayed count"),
        FunctionSpec("signal_value", (gauge,), n, "signals__{signal}__value", "latest value"),
        FunctionSpec("signal_open", (state,), b, "signals__{signal}__open", "state is open"),
    )
    return ContextSchema(fields=_fields(), functions={fn.name: fn for fn in functions})
