"""The Engine facade: the one entry every door (CLI, REST, MCP, console) and program uses."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime
from pathlib import Path
from types import TracebackType

import yaml
from sqlalchemy import Engine as SqlEngine

from nextmove.config import Settings
from nextmove.domain import RECORD_TYPES, Record
from nextmove.engine_autonomy import AutonomyCalls
from nextmove.engine_decisions import DecisionCalls
from nextmove.engine_execution import ExecutionCalls
from nextmove.engine_governance import GovernanceCalls
from nextmove.engine_loop import LoopCalls
from nextmove.engine_measurement import MeasurementCalls
from nextmove.engine_playbook import PlaybookCalls
from nextmove.errors import AuthenticationFailed, ImportFailed, NotFound
from nextmove.execution.connectors.registry import ConnectorSet, dry_run_connectors
from nextmove.execution.dispatcher import Dispatcher
from nextmove.foundation.identity import DuplicatePair
from nextmove.foundation.model import ColumnMapping, FileFormat, ImportSummary, QuarantineEntry
from nextmove.foundation.readiness import ReadinessReport, load_rules
from nextmove.foundation.repository import FoundationRepository
from nextmove.foundation.service import (
    Progress,
    assess_foundation,
    find_duplicates,
    import_file,
    import_records,
)
from nextmove.governance.access import require
from nextmove.governance.model import Actor, Permission, Role
from nextmove.governance.service import Store, authenticate, has_users
from nextmove.store import UnitOfWork, current_revision, head_revision, upgrade

__all__ = ["Engine"]

Clock = Callable[[], datetime]


LOCAL_OPERATOR = Actor(user_id="local", role=Role.ADMIN)
"""Who acts on an installation that has no users yet (single-user, on one machine)."""


class Engine(
    LoopCalls,
    ExecutionCalls,
    GovernanceCalls,
    PlaybookCalls,
    AutonomyCalls,
    DecisionCalls,
    MeasurementCalls,
):
    """nextmove on one database: import, check the foundation, govern, decide and act.

    Build it with :meth:`Engine.open`; close it (or use ``with``) when done. Every call
    acts as one user: the one named by ``Settings.user`` and proven by its token, or,
    until the first user is created (``bootstrap_admin``), the local operator as admin.
    Each call checks that user's role, so every door inherits the same access control.
    """

    def __init__(
        self,
        *,
        database: SqlEngine,
        settings: Settings,
        clock: Clock,
        connectors: ConnectorSet | None = None,
    ) -> None:
        self._database = database
        self._settings = settings
        self._clock = clock
        self._actor: Actor | None = None
        self._connectors = connectors if connectors is not None else dry_run_connectors()
        self._dispatcher: Dispatcher | None = None
        self._absent: frozenset[str] = frozenset()

    def identity(self) -> Actor:
        """Return the acting user, authenticating it on first use."""
        return self._identity(self._database)

    def _identity(self, store: Store) -> Actor:
        """:meth:`identity`, read in ``store`` (the caller's unit of work, when it has one)."""
        if self._actor is not None:
            return self._actor
        user, token = self._settings.user, self._settings.token
        if user and token is not None:
            self._actor = authenticate(store=store, user_id=user, token=token.get_secret_value())
            return self._actor
        if has_users(store=store):
            raise AuthenticationFailed(
                "this installation has users: set NEXTMOVE_USER and NEXTMOVE_TOKEN"
            )
        return LOCAL_OPERATOR

    def _authorise(self, permission: Permission, store: Store | None = None) -> Actor:
        """The acting user, once it may do ``permission`` (read in ``store``, if given)."""
        actor = self._identity(self._database if store is None else store)
        require(actor, permission)
        return actor

    @classmethod
    def open(
        cls, url: str | None = None, *, settings: Settings | None = None, clock: Clock | None = None
    ) -> Engine:
        """Open the engine on ``url`` (default: settings / ``NEXTMOVE_DATABASE_URL``)."""
        from nextmove.bootstrap import build_engine

        chosen = settings or Settings()
        if url is not None:
            chosen = chosen.model_copy(update={"database_url": url})
        return build_engine(chosen, clock=clock)

    def __enter__(self) -> Engine:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release connectors and database connections."""
        self._connectors.close()
        self._database.dispose()

    @property
    def settings(self) -> Settings:
        """The settings this engine was built from."""
        return self._settings

    @property
    def clock(self) -> Clock:
        """The clock this engine reads "now" from (the wall clock, or a simulated one)."""
        return self._clock

    @property
    def database(self) -> SqlEngine:
        """The SQLAlchemy engine (for tools and tests; parts go through services)."""
        return self._database

    def upgrade_schema(self) -> str | None:
        """Bring the database schema to the newest revision; return it."""
        return upgrade(self._database)

    def schema_revision(self) -> tuple[str | None, str | None]:
        """Return (current, newest) schema revisions."""
        return current_revision(self._database), head_revision()

    def import_file(
        self,
        kind: str,
        path: str | Path,
        *,
        mapping: str | ColumnMapping = "canonical",
        file_format: FileFormat | str | None = None,
        encoding: str | None = None,
        delimiter: str | None = None,
        progress: Progress | None = None,
    ) -> ImportSummary:
        """Import one CSV, Parquet or JSON Lines file of ``kind`` records."""
        self._authorise(Permission.IMPORT_DATA)
        return import_file(
            engine=self._database,
            kind=kind,
            path=Path(path),
            mapping=mapping,
            file_format=FileFormat(file_format) if file_format else None,
            encoding=encoding,
            delimiter=delimiter,
            batch_rows=self._settings.import_batch_rows,
            mapping_dirs=self._settings.mapping_dirs,
            now=self._clock,
            progress=progress,
        )

    def import_folder(
        self,
        folder: str | Path,
        *,
        progress: Callable[[str], Progress | None] | None = None,
    ) -> list[ImportSummary]:
        """Import every file a folder's ``manifest.yaml`` lists, in its order.

        The manifest has ``files: [{kind, path, mapping?, format?}]``; paths are relative
        to the folder. ``progress(kind)`` may return a callback for that file.
        """
        self._authorise(Permission.IMPORT_DATA)
        root = Path(folder).resolve()
        manifest = root / "manifest.yaml"
        if not manifest.is_file():
            raise NotFound(f"{root} has no manifest.yaml listing the files to import")
        content = yaml.safe_load(manifest.read_text(encoding="utf-8")) or {}
        entries = content.get("files") if isinstance(content, dict) else None
        if not isinstance(entries, list):
            raise ImportFailed(f"{manifest}: expected a 'files:' list of {{kind, path}} entries")
        summaries = []
        for number, entry in enumerate(entries, start=1):
            if not isinstance(entry, dict) or "kind" not in entry or "path" not in entry:
                raise ImportFailed(f"{manifest}: files entry {number} needs kind: and path:")
            mapping = str(entry.get("mapping", "canonical"))
            if mapping.endswith((".yaml", ".yml")):
                mapping = str(root / mapping)
            summaries.append(
                self.import_file(
                    str(entry["kind"]),
                    (root / str(entry["path"])).resolve(),
                    mapping=mapping,
                    file_format=entry.get("format"),
                    progress=progress(str(entry["kind"])) if progress else None,
                )
            )
        return summaries

    def ingest(
        self, *records: Iterable[Record] | Record, **by_kind: Iterable[Record] | str | Path
    ) -> list[ImportSummary]:
        """Land records or files, validated and quarantined the same way as ``import``.

        ``engine.ingest(accounts="accounts.parquet", signals=[Signal(...), ...])`` takes,
        per kind, a file (canonical columns) or records; positional arguments are records
        of any kind. Kinds are landed in reference order (accounts before their signals).
        """
        self._authorise(Permission.IMPORT_DATA)
        flat: list[Record] = []
        for item in records:
            flat.extend([item] if isinstance(item, Record) else item)
        files: list[tuple[str, Path]] = []
        for kind, value in by_kind.items():
            if kind not in RECORD_TYPES:
                raise NotFound(
                    f"unknown record type {kind!r}; expected one of {', '.join(RECORD_TYPES)}"
                )
            if isinstance(value, str | Path):
                files.append((kind, Path(value)))
                continue
            for record in value:
                if not isinstance(record, RECORD_TYPES[kind]):
                    expected, got = RECORD_TYPES[kind].__name__, type(record).__name__
                    raise ImportFailed(f"{kind}= takes {expected} records, got {got}")
                flat.append(record)
        order = list(RECORD_TYPES)
        summaries: list[ImportSummary] = []
        pending = sorted(flat, key=lambda record: order.index(record.kind))
        for kind in order:
            for file_kind, path in files:
                if file_kind == kind:
                    summaries.append(self.import_file(kind, path))
            batch = [record for record in pending if record.kind == kind]
            if batch:
                summaries += import_records(engine=self._database, records=batch, now=self._clock)
        return summaries

    def imports(self, limit: int = 20) -> list[ImportSummary]:
        """Return the latest import runs, newest first."""
        self._authorise(Permission.VIEW)
        with UnitOfWork(self._database) as uow:
            return FoundationRepository(uow.connection).runs(limit)

    def quarantined(
        self, *, run_id: int | None = None, limit: int | None = 100
    ) -> list[QuarantineEntry]:
        """Return quarantined values (of one import run, or all), with row and reason."""
        self._authorise(Permission.VIEW)
        with UnitOfWork(self._database) as uow:
            return FoundationRepository(uow.connection).quarantined(run_id=run_id, limit=limit)

    def readiness(
        self,
        *,
        as_of: date | datetime,
        stale_after_days: int = 60,
        review_after_days: int = 365,
        rules: str | Path | None = None,
    ) -> ReadinessReport:
        """Return the foundation readiness report as of ``as_of``.

        ``rules`` is a YAML file of decision types and vocabularies replacing the built-in
        ``foundation/readiness/readiness.yaml``.
        """
        self._authorise(Permission.VIEW)
        return assess_foundation(
            engine=self._database,
            as_of=as_of,
            stale_after_days=stale_after_days,
            review_after_days=review_after_days,
            rules=load_rules(rules) if rules else None,
        )

    def duplicates(self, *, limit: int | None = None) -> list[DuplicatePair]:
        """Return probable duplicate accounts with a confidence; nothing is merged."""
        self._authorise(Permission.VIEW)
        return find_duplicates(engine=self._database, limit=limit)

    def count(self, kind: str) -> int:
        """Return how many records of ``kind`` are stored."""
        self._authorise(Permission.VIEW)
        if kind not in RECORD_TYPES:
            raise NotFound(
                f"unknown record type {kind!r}; expected one of {', '.join(RECORD_TYPES)}"
            )
        with UnitOfWork(self._database) as uow:
            return FoundationRepository(uow.connection).count(kind)
