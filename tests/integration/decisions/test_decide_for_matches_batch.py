"""Deciding one account in real time gives that account's row of a batch run, to the bit.

Two databases hold the same company, playbook and history; one decides every account in
one batch, the other account by account (and a few at a time) with ``decide_for``. The
playbook's capacities are too large to bind, so that no account's decision depends on the
others' and the two must agree on every column of every decision, reasons included.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from nextmove import Engine
from nextmove.decisions.pipeline import DECISION_COLUMNS
from nextmove.sim import SimConfig, generate, write_company

AS_OF = datetime(2026, 11, 22, 18, 0, tzinfo=UTC)
EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "playbooks" / "b2b_saas.yaml"
ACCOUNTS = 120


@pytest.fixture(scope="module")
def company_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("company")
    write_company(generate(SimConfig(seed=11, accounts=ACCOUNTS)), folder, fmt="csv")
    return folder


def _unbounded_playbook() -> str:
    """The example playbook with capacities that never bind and low thresholds."""
    playbook = EXAMPLE.read_text(encoding="utf-8")
    playbook = re.sub(r"(per(?:_owner)?_(?:day|week)): \d+", r"\1: 1000000", playbook)
    playbook = re.sub(r"min_expected_value: \d+", "min_expected_value: 1", playbook)
    return re.sub(r"min_confidence: [\d.]+", "min_confidence: 0.2", playbook)


@pytest.fixture
def reference_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """A second empty database beside ``database_url``, on the same kind of server."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'reference.db'}"
        return
    url = make_url(database_url)
    schema = str(url.query["options"]).split("=", 1)[1] + "_ref"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        reference = url.update_query_dict({"options": f"-csearch_path={schema}"})
        yield reference.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _prepared(engine: Engine, company_folder: Path) -> Engine:
    """The company, the playbook, and a batch run four days ago, in the same week: touches
    inside the caps' windows (past the three quiet days after a touch), capacity used."""
    engine.import_folder(company_folder)
    engine.apply_playbook(_unbounded_playbook(), message="capacities that never bind")
    engine.decide(as_of=AS_OF - timedelta(days=4))
    return engine


def test_decide_for_gives_every_accounts_row_of_the_batch(
    engine: Engine, reference_url: str, company_folder: Path
) -> None:
    with Engine.open(reference_url, clock=lambda: AS_OF) as reference:
        batch = _prepared(reference, company_folder).decide(as_of=AS_OF).decisions
    realtime = _prepared(engine, company_folder)
    ids = batch["account_id"].to_list()
    alone, together = ids[: ACCOUNTS - 12], ids[ACCOUNTS - 12 :]
    runs = [realtime.decide_for(account_id, as_of=AS_OF) for account_id in alone]
    runs += [realtime.decide_for(together[:5], as_of=AS_OF)]
    runs += [realtime.decide_for(together[5:], as_of=AS_OF)]
    decided = pl.concat([run.decisions for run in runs]).sort("account_id")

    assert decided.columns == list(DECISION_COLUMNS)
    assert decided.schema == batch.schema
    assert decided.equals(batch.sort("account_id"))
    # Not a vacuous match: the batch acts through several motions, holds out and explores.
    assert batch.filter(pl.col("action") != "no_action")["action"].n_unique() >= 2
    assert batch["holdout"].any() and batch["explored"].any()
    # What was stored is what was returned.
    for run in runs[-3:]:
        logged = realtime.decisions(run_id=run.run_id, include_no_action=True).drop("run_id")
        assert logged.schema == run.decisions.schema and logged.equals(run.decisions)
