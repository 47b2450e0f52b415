"""Quickstart: a synthetic company into a fresh database, then what nextmove thinks of it.

.venv/bin/python examples/quickstart.py [DATABASE_URL]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from nextmove import Engine
from nextmove.domain import Account, Signal
from nextmove.sim import SimConfig, generate, write_company


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="nextmove-quickstart-"))
    url = sys.argv[1] if len(sys.argv) > 1 else f"sqlite:///{workdir / 'nextmove.db'}"
    company = generate(SimConfig(seed=11, accounts=2_000))
    manifest = write_company(company, workdir / "company", fmt="parquet")

    with Engine.open(url) as engine:
        for summary in engine.import_folder(manifest.parent):
            print(
                f"{summary.kind:>13}: {summary.imported:>6,} imported, "
                f"{summary.quarantined_rows} quarantined"
            )

        # Records from a program go through the same validation as files do.
        engine.ingest(
            [
                Account(account_id="acct-new-1", name="Fresh Prospect Ltd", country="GB"),
                Signal(
                    event_id="evt-web-1",
                    account_id="acct-new-1",
                    signal_type="pricing_page_visit",
                    occurred_at="2026-11-20T09:30:00Z",
                ),
            ]
        )
        for entry in engine.quarantined(limit=3):
            print(
                f"quarantined: {Path(entry.file).name} row {entry.row_number}: "
                f"{entry.field} = {entry.value!r} — {entry.reason}"
            )

        report = engine.readiness(as_of=company.as_of)
        for decision in report.decisions:
            print(f"{decision.label}: {decision.ready:,} of {decision.accounts:,} ready")
        print(f"probable duplicate accounts: {len(engine.duplicates())}")


if __name__ == "__main__":
    main()
