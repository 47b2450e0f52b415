"""The demo's closed loop: the agent loop against the synthetic company, days in seconds."""

from __future__ import annotations

from datetime import timedelta

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from nextmove.agent import Agent
from nextmove.cli.console import console
from nextmove.cli.decisions import print_run
from nextmove.cli.session import open_engine
from nextmove.loop.model import LoopSchedule
from nextmove.loop.simulation import SimClock, SimSummary, SimulatedCompany, noon
from nextmove.sim import SyntheticCompany, World

__all__ = ["run_simulated_days"]


def run_simulated_days(
    company: SyntheticCompany, *, days: int, database_url: str | None, seed: int
) -> SimSummary:
    """Run the loop for ``days`` simulated days; print the first run and a summary."""
    world = World(company)
    clock = SimClock(noon(world.day))
    schedule = LoopSchedule(
        batch_every=timedelta(days=1), learn_every=timedelta(days=7), name="demo"
    )
    with open_engine(database_url, clock=clock) as engine:
        surroundings = SimulatedCompany(world, clock, seed=seed)
        agent = Agent(engine, schedule=schedule, clock=clock, surroundings=[surroundings])
        columns = (
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        first = None
        with Progress(*columns, console=console, transient=False) as bar:
            task = bar.add_task("simulated days", total=days)
            for _ in range(days):
                report = agent.cycle()
                if report.error:
                    console.print(f"[red]{clock.now:%Y-%m-%d}: {report.error}[/]")
                if first is None and agent.last_run is not None:
                    first = agent.last_run
                bar.update(task, advance=1, description=f"day {clock.now:%Y-%m-%d}")
        status = engine.status("demo")
    if first is not None:
        console.rule("decisions of the first day")
        print_run(first)
    console.rule(f"{days} simulated days")
    _print_summary(surroundings.summary, status.approvals_pending)
    return surroundings.summary


def _print_summary(summary: SimSummary, pending: int) -> None:
    moves = Table(title="decisions by motion")
    moves.add_column("motion")
    moves.add_column("decisions", justify="right")
    for motion, count in summary.decisions.most_common():
        moves.add_row(motion, f"{count:,}")
    console.print(moves)
    ladder = Table(title="autonomy")
    ladder.add_column("level")
    ladder.add_column("decisions", justify="right")
    for level in ("auto", "approve", "recommend", "shadow"):
        ladder.add_row(level, f"{summary.autonomy.get(level, 0):,}")
    ladder.add_row("  approved by people", f"{summary.approved:,}")
    ladder.add_row("  rejected by people", f"{summary.rejected:,}")
    ladder.add_row("  approvals pending", f"{pending:,}")
    console.print(ladder)
    blocked = Table(title="candidate moves blocked, by guardrail")
    blocked.add_column("guardrail")
    blocked.add_column("blocked", justify="right")
    for rule, count in summary.blocked.most_common(12):
        blocked.add_row(rule, f"{count:,}")
    console.print(blocked)
    share = summary.value / summary.oracle if summary.oracle else 0.0
    console.print(
        f"actions sent {summary.sent:,} · outcomes recorded {summary.outcomes:,} · "
        f"true incremental value gained {summary.value:,.0f} "
        f"({share:.1%} of an unconstrained oracle's {summary.oracle:,.0f})"
    )
