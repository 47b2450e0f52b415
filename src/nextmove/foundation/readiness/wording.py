"""How the report words things: findings, shares, percentages, plurals and names."""

from __future__ import annotations

from collections.abc import Iterable

from nextmove.foundation.readiness.model import Finding, Section, Severity, Thresholds

__all__ = [
    "and_list",
    "article",
    "field_words",
    "make_finding",
    "named",
    "percent",
    "plural",
    "plural_records",
    "share_of",
    "share_severity",
]


def make_finding(
    section: Section,
    code: str,
    severity: Severity,
    headline: str,
    count: int,
    *,
    total: int | None = None,
    share: float | None = None,
    examples: Iterable[str] = (),
    suggestion: str | None = None,
) -> Finding:
    """Return a finding (``examples`` may be any iterable)."""
    return Finding(
        section=section,
        code=code,
        severity=severity,
        headline=headline,
        count=count,
        total=total,
        share=share,
        examples=tuple(examples),
        suggestion=suggestion,
    )


def share_of(part: int, whole: int) -> float:
    """Return ``part / whole``, or 0 when ``whole`` is 0."""
    return part / whole if whole else 0.0


def share_severity(share: float, limits: Thresholds) -> Severity:
    """Return critical when ``share`` reaches the critical share, else warning."""
    return Severity.CRITICAL if share >= limits.critical_share else Severity.WARNING


def percent(share: float) -> str:
    """``0.64`` → ``64%``; keeps one decimal near 0% and 100% so neither is claimed falsely."""
    if 0 < share < 0.01 or 0.99 < share < 1:
        return f"{share:.1%}"
    return f"{share:.0%}"


def plural_records(count: int, kind: str) -> str:
    """``1 account``, ``3 accounts`` (kinds are plural nouns)."""
    return f"{count:,} {kind.removesuffix('s') if count == 1 else kind}"


def plural(count: int, noun: str) -> str:
    """``1 warning``, ``2 warnings`` (``noun`` is singular)."""
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def and_list(words: Iterable[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    items = list(words)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def field_words(name: str) -> str:
    """A field name in plain words: ``owner_id`` → ``owner``, ``truth_owner`` → ``truth owner``."""
    return name.removesuffix("_id").replace("_", " ")


def named(identifier: object, name: object) -> str:
    """``Acme (acct-1)``, or just the id when the name is missing or the same."""
    if name is None or name == identifier:
        return str(identifier)
    return f"{name} ({identifier})"


def article(word: str) -> str:
    """``an`` before a vowel, else ``a``."""
    return "an" if word[:1] in "aeiou" else "a"
