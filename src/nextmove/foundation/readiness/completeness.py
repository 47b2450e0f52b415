"""Completeness: how often each field is filled, and whole kinds of record not loaded.

A finding is raised only for the fields some decision type needs (any one of a
``filled`` condition's fields will do).
"""

from __future__ import annotations

import polars as pl

from nextmove.foundation.readiness.context import Context
from nextmove.foundation.readiness.expressions import is_filled
from nextmove.foundation.readiness.model import (
    RECORD_KINDS,
    Channel,
    Check,
    Condition,
    FieldCompleteness,
    Finding,
    KindCompleteness,
    ReadinessRules,
    Section,
    Severity,
)
from nextmove.foundation.readiness.wording import (
    and_list,
    field_words,
    make_finding,
    percent,
    share_of,
)

__all__ = ["assess_completeness"]


def _needed_fields(rules: ReadinessRules) -> dict[tuple[str, str], list[str]]:
    """(kind, field) → labels of the decision types that need it."""
    needed: dict[tuple[str, str], list[str]] = {}
    for rule in rules.decision_types.values():
        for condition in rule.conditions:
            for key in _fields_of(condition):
                needed.setdefault(key, [])
                if rule.label not in needed[key]:
                    needed[key].append(rule.label)
    return needed


def _fields_of(condition: Condition) -> list[tuple[str, str]]:
    match condition.check:
        case Check.FILLED | Check.KNOWN_VALUE:
            return [("accounts", name) for name in condition.fields]
        case Check.OWNER:
            return [("accounts", "owner_id")]
        case Check.REACHABLE_CONTACT:
            keys = [("contacts", "do_not_contact")]
            if Channel.EMAIL in condition.channels:
                keys += [("contacts", "email"), ("contacts", "email_consent")]
            if Channel.PHONE in condition.channels:
                keys.append(("contacts", "phone_consent"))
            return keys
        case _:
            return []


def _requirements(rules: ReadinessRules) -> dict[tuple[str, tuple[str, ...]], list[str]]:
    """(kind, fields of which any will do) → labels of the decision types that need one."""
    needed: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    for rule in rules.decision_types.values():
        for condition in rule.conditions:
            match condition.check:
                case Check.FILLED | Check.KNOWN_VALUE:
                    key = ("accounts", condition.fields)
                case Check.OWNER:
                    key = ("accounts", ("owner_id",))
                case Check.REACHABLE_CONTACT if Channel.EMAIL in condition.channels:
                    key = ("contacts", ("email",))
                case _:
                    continue
            labels = needed.setdefault(key, [])
            if rule.label not in labels:
                labels.append(rule.label)
    return needed


def assess_completeness(context: Context) -> tuple[tuple[KindCompleteness, ...], list[Finding]]:
    """Fill rate of every field of every kind; findings for needed fields filled too rarely."""
    needed = _needed_fields(context.rules)
    kinds = []
    for kind in RECORD_KINDS:
        frame = getattr(context.data, kind)
        filled = frame.select(
            is_filled(name, dtype).sum().alias(name) for name, dtype in frame.schema.items()
        ).row(0, named=True)
        entries = tuple(
            FieldCompleteness(
                field=name,
                filled=int(filled[name] or 0),
                share=share_of(int(filled[name] or 0), frame.height),
                needed_by=tuple(needed.get((kind, name), ())),
            )
            for name in frame.columns
        )
        kinds.append(KindCompleteness(kind=kind, rows=frame.height, fields=entries))
    findings = _missing_kinds(context) + [
        finding
        for (kind, names), labels in _requirements(context.rules).items()
        if (finding := _requirement_finding(context, kind, names, labels)) is not None
    ]
    return tuple(kinds), findings


def _requirement_finding(
    context: Context, kind: str, names: tuple[str, ...], labels: list[str]
) -> Finding | None:
    """A finding when too few records have any of ``names`` filled."""
    frame = getattr(context.data, kind)
    if frame.height == 0:
        return None
    any_filled = pl.any_horizontal(is_filled(name, frame.schema[name]) for name in names)
    filled = int(frame.select(any_filled.sum()).item() or 0)
    share = share_of(filled, frame.height)
    if share >= context.limits.completeness:
        return None
    words = " or ".join(field_words(name) for name in names)
    return make_finding(
        Section.COMPLETENESS,
        f"completeness.{kind}.{'_or_'.join(names)}",
        Severity.CRITICAL if share < context.limits.usable else Severity.WARNING,
        f"{words.capitalize()} is filled for only {percent(share)} of {kind} "
        f"({filled:,} of {frame.height:,}); {and_list(labels)} "
        f"need{'s' if len(labels) == 1 else ''} it.",
        frame.height - filled,
        total=frame.height,
        share=share_of(frame.height - filled, frame.height),
        suggestion=f"Fill {words} in the source system or derive it in the {kind} mapping.",
    )


def _missing_kinds(context: Context) -> list[Finding]:
    """Whole kinds of record that are not loaded at all."""
    counts = {kind: getattr(context.data, kind).height for kind in RECORD_KINDS}
    if counts["accounts"] == 0:
        return [
            make_finding(
                Section.COMPLETENESS,
                "completeness.no_accounts",
                Severity.CRITICAL,
                "No accounts are loaded, so nothing can be decided yet.",
                0,
                suggestion="Import accounts first (nextmove import accounts <file>).",
            )
        ]
    missing = {
        "contacts": (Severity.CRITICAL, "No contacts are loaded, so no account can be reached."),
        "holdings": (
            Severity.WARNING,
            "No product holdings are loaded, so every account counts as a prospect.",
        ),
        "products": (Severity.WARNING, "No product catalog is loaded."),
        "owners": (Severity.WARNING, "No owners are loaded, so no account has a known owner."),
    }
    return [
        make_finding(
            Section.COMPLETENESS,
            f"completeness.no_{kind}",
            severity,
            headline,
            0,
            suggestion=f"Import {kind} (nextmove import {kind} <file>).",
        )
        for kind, (severity, headline) in missing.items()
        if counts[kind] == 0
    ]
