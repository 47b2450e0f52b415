"""Playbook use cases: check, apply, list, show, diff and roll back versions; run cases."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from nextmove.errors import NotFound, PlaybookInvalid
from nextmove.playbook.cases import CaseReport, load_cases, run_cases
from nextmove.playbook.diffing import PlaybookDiff, diff_playbooks
from nextmove.playbook.loader import LoadedPlaybook, load_playbook, problems_error
from nextmove.playbook.model import PlaybookVersion, Problem
from nextmove.playbook.repository import PlaybookRepository
from nextmove.playbook.semantics import KnownCatalog, check_semantics, context_schema_for
from nextmove.store import UnitOfWork, reading

__all__ = [
    "AppliedPlaybook",
    "PlaybookCheck",
    "active",
    "apply_playbook",
    "check_playbook",
    "content_hash",
    "diff",
    "get",
    "history",
    "known_catalog",
    "rollback",
    "run_playbook_cases",
]


@dataclass(frozen=True)
class PlaybookCheck:
    """The outcome of checking a playbook text: the playbook when it loaded, and problems."""

    loaded: LoadedPlaybook | None
    problems: tuple[Problem, ...]

    @property
    def errors(self) -> tuple[Problem, ...]:
        """Problems that make the playbook invalid."""
        return tuple(p for p in self.problems if p.severity == "error")

    @property
    def ok(self) -> bool:
        """True when there is no error (warnings allowed)."""
        return not self.errors


@dataclass(frozen=True)
class AppliedPlaybook:
    """The active version after an apply or rollback; ``created`` is False for a no-op."""

    version: PlaybookVersion
    created: bool
    warnings: tuple[Problem, ...] = ()


OnStored = Callable[[UnitOfWork, PlaybookVersion], None]
"""Called with the open unit of work after a version is stored, before commit (the audit)."""


def content_hash(text: str) -> str:
    """Return the sha256 hex digest identifying a playbook's content."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def known_catalog(*, engine: Engine) -> KnownCatalog:
    """Return the stored product and team ids (None for a kind the store has none of)."""
    with UnitOfWork(engine) as uow:
        return _known(PlaybookRepository(uow.connection))


def _known(repository: PlaybookRepository) -> KnownCatalog:
    return KnownCatalog(
        products=repository.product_ids() or None, teams=repository.team_ids() or None
    )


def check_playbook(*, text: str, known: KnownCatalog) -> PlaybookCheck:
    """Return every problem of ``text``: YAML, structure, then semantics against ``known``.

    Adds a warning for each kind of reference that could not be checked because ``known``
    does not list it (an empty store).
    """
    try:
        loaded = load_playbook(text)
    except PlaybookInvalid as exc:
        return PlaybookCheck(None, tuple(p for p in exc.problems if isinstance(p, Problem)))
    problems = check_semantics(loaded, known)
    for kind, values in (("product", known.products), ("team", known.teams)):
        if values is None:
            message = f"{kind} ids were not checked: no {kind}s are known (import the catalog)"
            problems.append(Problem(path="", message=message, severity="warning"))
    return PlaybookCheck(loaded, tuple(problems))


def _normalised(text: str) -> str:
    return text.replace("\r\n", "\n")


def apply_playbook(
    *,
    engine: Engine,
    text: str,
    author: str,
    message: str,
    now: datetime,
    on_stored: OnStored | None = None,
) -> AppliedPlaybook:
    """Store ``text`` as the new active version; return it.

    Raises PlaybookInvalid (storing nothing) when the playbook has an error. Applying the
    content of the active version again stores nothing and returns that version.
    """
    _require_message(message)
    text = _normalised(text)
    with UnitOfWork(engine) as uow:
        repository = PlaybookRepository(uow.connection)
        check = check_playbook(text=text, known=_known(repository))
        if not check.ok:
            raise problems_error("the playbook", list(check.problems))
        warnings = tuple(p for p in check.problems if p.severity == "warning")
        digest = content_hash(text)
        current = repository.latest()
        if current is not None and current.content_hash == digest:
            return AppliedPlaybook(current, created=False, warnings=warnings)
        stored = repository.add(
            content=text, content_hash=digest, author=author, message=message, created_at=now
        )
        if on_stored is not None:
            on_stored(uow, stored)
        uow.commit()
    return AppliedPlaybook(stored, created=True, warnings=warnings)


def _require_message(message: str) -> None:
    if not message.strip():
        problem = Problem(path="", message="a change needs a message saying why")
        raise PlaybookInvalid("a playbook change needs a message saying why", (problem,))


def history(*, engine: Engine, limit: int | None = None) -> list[PlaybookVersion]:
    """Return stored versions, newest first."""
    with UnitOfWork(engine) as uow:
        return PlaybookRepository(uow.connection).history(limit)


def active(*, engine: Engine | UnitOfWork) -> PlaybookVersion | None:
    """Return the active (newest) version, or None when no playbook was applied yet
    (read in the caller's transaction, given its unit of work)."""
    with reading(engine) as connection:
        return PlaybookRepository(connection).latest()


def active_key(*, engine: Engine | UnitOfWork) -> tuple[int, str] | None:
    """Return the active version's number and content hash, or None when no playbook was
    applied yet: enough to know a parsed playbook is still the one in force."""
    with reading(engine) as connection:
        return PlaybookRepository(connection).latest_key()


def get(*, engine: Engine, version: int) -> PlaybookVersion:
    """Return one stored version; raise NotFound when there is no such version."""
    with UnitOfWork(engine) as uow:
        found = PlaybookRepository(uow.connection).get(version)
    if found is None:
        raise NotFound(f"there is no playbook version {version}")
    return found


def diff(*, engine: Engine, a: int, b: int) -> PlaybookDiff:
    """Return what changed from version ``a`` to version ``b``."""
    old, new = get(engine=engine, version=a), get(engine=engine, version=b)
    return diff_playbooks(old.content, new.content, old_label=f"v{a}", new_label=f"v{b}")


def rollback(
    *,
    engine: Engine,
    version: int,
    author: str,
    message: str,
    now: datetime,
    on_stored: OnStored | None = None,
) -> AppliedPlaybook:
    """Make an earlier version active again by storing its content as a new version.

    The new version records ``rollback_of``. Nothing is stored when that content is
    already active; PlaybookInvalid is raised when it no longer checks (e.g. it names a
    product that was since removed from the catalog).
    """
    _require_message(message)
    with UnitOfWork(engine) as uow:
        repository = PlaybookRepository(uow.connection)
        target = repository.get(version)
        if target is None:
            raise NotFound(f"there is no playbook version {version}")
        check = check_playbook(text=target.content, known=_known(repository))
        if not check.ok:
            raise problems_error(f"version {version}", list(check.problems))
        current = repository.latest()
        if current is not None and current.content_hash == target.content_hash:
            return AppliedPlaybook(current, created=False)
        stored = repository.add(
            content=target.content,
            content_hash=target.content_hash,
            author=author,
            message=message,
            created_at=now,
            rollback_of=version,
        )
        if on_stored is not None:
            on_stored(uow, stored)
        uow.commit()
    return AppliedPlaybook(stored, created=True)


def run_playbook_cases(*, text: str, cases_text: str, known: KnownCatalog) -> CaseReport:
    """Run the example cases in ``cases_text`` against the playbook ``text``.

    Raises PlaybookInvalid when the playbook has an error or the cases file is malformed.
    """
    check = check_playbook(text=text, known=known)
    if check.loaded is None or not check.ok:
        raise problems_error("the playbook", list(check.problems))
    cases, source = load_cases(cases_text)
    schema = context_schema_for(check.loaded.playbook, known)
    return run_cases(check.loaded.playbook, cases, source, schema)
