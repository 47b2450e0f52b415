"""Shared fixtures: every database test runs on SQLite and, when reachable, PostgreSQL.

PostgreSQL tests get a schema of their own (dropped afterwards). Set
NEXTMOVE_TEST_POSTGRES_URL to point elsewhere, and NEXTMOVE_REQUIRE_POSTGRES=1 (CI does)
to fail instead of skipping when it is not reachable.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from nextmove import Engine
from nextmove.domain import Product, Team, TeamFunction

POSTGRES_URL = os.environ.get(
    "NEXTMOVE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REQUIRE_POSTGRES = os.environ.get("NEXTMOVE_REQUIRE_POSTGRES") == "1"
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
REPO = Path(__file__).resolve().parents[1]

_postgres_state: dict[str, object] = {"checked": False, "error": None, "ran": 0, "skipped": 0}


def _postgres_error() -> str | None:
    if not _postgres_state["checked"]:
        _postgres_state["checked"] = True
        try:
            probe = create_engine(POSTGRES_URL)
            with probe.connect() as connection:
                connection.execute(text("SELECT 1"))
            probe.dispose()
        except (OperationalError, ImportError) as exc:
            _postgres_state["error"] = str(exc).splitlines()[0]
    error = _postgres_state["error"]
    return str(error) if error else None


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty database: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'nextmove.db'}"
        return
    error = _postgres_error()
    if error:
        _postgres_state["skipped"] = int(str(_postgres_state["skipped"])) + 1
        if REQUIRE_POSTGRES:
            pytest.fail(f"PostgreSQL required but not reachable: {error}")
        pytest.skip(f"PostgreSQL not reachable: {error}")
    schema = f"nm_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    _postgres_state["ran"] = int(str(_postgres_state["ran"])) + 1
    url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


class FixedClock:
    """A clock tests can read and move."""

    def __init__(self, start: datetime = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def engine(database_url: str, clock: FixedClock) -> Iterator[Engine]:
    """An Engine on an empty, migrated database."""
    with Engine.open(database_url, clock=clock) as opened:
        yield opened


EXAMPLE_PLAYBOOK = REPO / "examples" / "playbooks" / "b2b_saas.yaml"
EXAMPLE_TEAMS = {
    "team-sales": TeamFunction.SALES,
    "team-marketing": TeamFunction.MARKETING,
    "team-customer-success": TeamFunction.CUSTOMER_SUCCESS,
    "team-service": TeamFunction.SERVICE,
}
EXAMPLE_PRODUCTS = (
    "prod-analytics-core",
    "prod-analytics-pro",
    "prod-predictive-insights",
    "prod-data-pipelines",
    "prod-dataguard",
    "prod-engage-email",
    "prod-engage-journeys",
    "prod-platform-sso",
    "prod-audit-trail",
    "prod-premium-support",
    "prod-onboarding-plus",
)


@pytest.fixture
def playbook_engine(engine: Engine) -> Engine:
    """An Engine whose store has the example catalog and the example playbook applied."""
    engine.ingest(
        [Team(team_id=t, name=t, function=f) for t, f in EXAMPLE_TEAMS.items()],
        [Product(product_id=p, name=p) for p in EXAMPLE_PRODUCTS],
    )
    engine.apply_playbook(EXAMPLE_PLAYBOOK, message="the example rules")
    return engine


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    ran, skipped = _postgres_state["ran"], _postgres_state["skipped"]
    if _postgres_state["error"]:
        terminalreporter.write_line(
            f"PostgreSQL NOT tested: {skipped} database tests skipped ({_postgres_state['error']})",
            yellow=True,
        )
    elif ran:
        terminalreporter.write_line(
            f"PostgreSQL tested: {ran} database tests ran on it", green=True
        )
