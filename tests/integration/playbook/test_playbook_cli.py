"""``nextmove playbook …`` end to end through Typer, against SQLite and PostgreSQL.

The tests invoke the playbook sub-app directly (it is registered as ``nextmove playbook``).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from nextmove import Engine
from nextmove.cli import playbook as cli
from nextmove.cli import session
from nextmove.domain import Product, Team, TeamFunction

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "playbooks"

Invoke = Callable[..., Result]


@pytest.fixture
def invoke(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Invoke]:
    monkeypatch.delenv("NEXTMOVE_DATABASE_URL", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setattr(session, "system_clock", lambda: datetime(2026, 11, 2, 8, 30, tzinfo=UTC))
    runner = CliRunner()
    url = engine.settings.database_url

    def run(*args: str) -> Result:
        return runner.invoke(cli.app, [*args, "--database-url", url])

    yield run


@pytest.fixture
def workdir(tmp_path: Path, engine: Engine) -> Path:
    """A folder with the example playbook and its cases; the store holds its catalog."""
    for name in ("b2b_saas.yaml", "b2b_saas.cases.yaml"):
        shutil.copy(EXAMPLES / name, tmp_path / name)
    teams = ("team-sales", "team-marketing", "team-customer-success", "team-service")
    functions = (
        TeamFunction.SALES,
        TeamFunction.MARKETING,
        TeamFunction.CUSTOMER_SUCCESS,
        TeamFunction.SERVICE,
    )
    text = (EXAMPLES / "b2b_saas.yaml").read_text(encoding="utf-8")
    products = sorted({word.strip(",:[]") for word in text.split() if word.startswith("prod-")})
    engine.ingest(
        [Team(team_id=t, name=t, function=f) for t, f in zip(teams, functions, strict=True)],
        [Product(product_id=p, name=p) for p in products],
    )
    return tmp_path


def test_check_passes_a_clean_playbook(invoke: Invoke, workdir: Path) -> None:
    result = invoke("check", str(workdir / "b2b_saas.yaml"))
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"{workdir / 'b2b_saas.yaml'}: ok"


def test_check_prints_every_problem_and_fails(invoke: Invoke, workdir: Path) -> None:
    broken = workdir / "broken.yaml"
    text = (workdir / "b2b_saas.yaml").read_text(encoding="utf-8")
    broken.write_text(
        text.replace("team: team-marketing", "team: team-marketting").replace(
            'require: segment in ["mid", "ent"]', 'require: segment in ["mid", "large"]'
        ),
        encoding="utf-8",
    )
    result = invoke("check", str(broken))
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    written = broken.read_text(encoding="utf-8").splitlines()
    team = next(i for i, line in enumerate(written, 1) if "team-marketting" in line)
    rule = next(i for i, line in enumerate(written, 1) if '"large"]' in line)
    assert lines == [
        f"{broken}:{team}:11: actions.digital_program.team: unknown team 'team-marketting'",
        f"{broken}:{rule}:33: eligibility[0].require: segment is never 'large'"
        " (known: ent, mid, smb) (expression column 20)",
    ]
    assert "2 error(s)" in result.output


def test_apply_history_show_diff_and_rollback(
    invoke: Invoke, workdir: Path, engine: Engine
) -> None:
    file = workdir / "b2b_saas.yaml"
    first = invoke("apply", str(file), "-m", "initial rules")
    assert first.exit_code == 0, first.output
    assert first.stdout.startswith("applied: version 1 (")

    same = invoke("apply", str(file), "-m", "again")
    assert same.exit_code == 0
    assert "unchanged: version 1 already has this content" in same.stdout

    file.write_text(file.read_text().replace("holdout_share: 0.10", "holdout_share: 0.15"))
    assert invoke("apply", str(file), "-m", "bigger holdout").exit_code == 0

    diff = invoke("diff", "1", "2")
    assert diff.exit_code == 0
    assert "measurement:\n  ~ measurement.holdout_share: 0.1 → 0.15" in diff.stdout
    assert "-  holdout_share: 0.10" in diff.stdout

    rolled = invoke("rollback", "1", "-m", "holdout back to 10%")
    assert rolled.exit_code == 0, rolled.output
    assert rolled.stdout.startswith("rolled back to v1: version 3")

    history = invoke("history")
    assert history.exit_code == 0
    for expected in ("holdout back to 10% (rollback to v1)", "bigger holdout", "initial rules"):
        assert expected in history.stdout
    assert "2026-11-02 08:30" in history.stdout

    shown = invoke("show", "2")
    assert shown.exit_code == 0
    assert "holdout_share: 0.15" in shown.stdout
    assert shown.stdout.startswith("# ───")  # the YAML itself; details go to stderr
    # single-user installation: the local operator is the author
    assert "# version 2 by local at 2026-11-02 08:30 UTC: bigger holdout" in shown.stderr
    active = invoke("show")
    assert "holdout_share: 0.10" in active.stdout

    # every change is in the audit log, chained, with the version it made
    entries = engine.audit_entries()
    assert [e.action for e in entries][:3] == [
        "playbook.rollback",
        "playbook.apply",
        "playbook.apply",
    ]
    assert [e.playbook_version for e in entries][:3] == [3, 2, 1]
    assert engine.verify_audit().ok

    missing = invoke("show", "9")
    assert missing.exit_code == 1
    assert "there is no playbook version 9" in missing.stderr


def test_apply_refuses_an_invalid_playbook(invoke: Invoke, workdir: Path) -> None:
    bad = workdir / "bad.yaml"
    bad.write_text("name: x\nactions: {}\nrules: []\n", encoding="utf-8")
    result = invoke("apply", str(bad), "-m", "try")
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [  # structure first: semantics need a valid model
        f"{bad}:3:1: rules: unknown key 'rules'; expected one of: name, description, value,"
        " actions, eligibility, contact_policies, consent, capacity, thresholds, autonomy,"
        " measurement, ownership, signals",
    ]
    bad.write_text("name: x\nactions: {}\n", encoding="utf-8")
    result = invoke("apply", str(bad), "-m", "try")
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"{bad}:2:1: actions: missing required action(s): sales_outreach, digital_program,"
        " service_conversation, no_action",
    ]
    assert "no playbook has been applied yet" in invoke("history").stdout


def test_test_runs_the_cases_beside_the_playbook(invoke: Invoke, workdir: Path) -> None:
    result = invoke("test", str(workdir / "b2b_saas.yaml"))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[-1] == "23 passed, 0 failed"
    assert all(line.startswith("PASS ") for line in lines[:-1])

    cases = workdir / "b2b_saas.cases.yaml"
    cases.write_text(
        cases.read_text().replace("    by: sales_mid_ent_only", "    by: no_selling_into_p1"),
        encoding="utf-8",
    )
    failed = invoke("test", str(workdir / "b2b_saas.yaml"))
    assert failed.exit_code == 1
    assert (
        f"FAIL {cases}:26: small businesses are served digitally, not by reps [sales_outreach]"
        " — expected blocked by no_selling_into_p1, but blocked by sales_mid_ent_only"
    ) in failed.stdout
    assert failed.stdout.splitlines()[-1] == "22 passed, 1 failed"


def test_test_reports_a_malformed_cases_file_against_its_name(
    invoke: Invoke, workdir: Path
) -> None:
    cases = workdir / "other.cases.yaml"
    cases.write_text("cases:\n  - {name: x, action: no_action, expect: alowed}\n")
    result = invoke("test", str(workdir / "b2b_saas.yaml"), "--cases", str(cases))
    assert result.exit_code == 1
    assert result.stdout.startswith(f"{cases}:2:42: cases[0].expect: input should be")


def test_check_and_test_can_run_without_a_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the default database would be ./nextmove.db
    monkeypatch.delenv("NEXTMOVE_DATABASE_URL", raising=False)
    runner = CliRunner()
    file = EXAMPLES / "b2b_saas.yaml"
    checked = runner.invoke(cli.app, ["check", str(file), "--offline"])
    assert checked.exit_code == 0, checked.output
    assert checked.stdout.splitlines() == [
        f"{file}: <root>: warning: product ids were not checked: no products are known"
        " (import the catalog)",
        f"{file}: <root>: warning: team ids were not checked: no teams are known"
        " (import the catalog)",
        f"{file}: ok (2 warning(s))",
    ]
    tested = runner.invoke(cli.app, ["test", str(file), "--offline"])
    assert tested.exit_code == 0, tested.output
    assert list(tmp_path.iterdir()) == []
