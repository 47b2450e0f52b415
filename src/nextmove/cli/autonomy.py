"""Autonomy commands: see which actions are demoted, demote them, restore them."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from nextmove.cli.console import console
from nextmove.cli.session import DatabaseOption, open_engine
from nextmove.governance.autonomy import AutonomyDemotion
from nextmove.playbook.model import DemotionTrigger

__all__ = ["app"]

app = typer.Typer(
    help="The autonomy ladder: demote actions after something went wrong, restore them.",
    no_args_is_help=True,
)

ReasonOption = Annotated[
    str, typer.Option("--reason", "-r", help="why (kept in the audit log)", show_default=False)
]


@app.command("status")
def status(database_url: DatabaseOption = None) -> None:
    """Show every action's playbook level and the demotions that hold now."""
    with open_engine(database_url) as engine:
        active = engine.playbook()
        demotions = {d.action: d for d in engine.autonomy_demotions()}
        playbook = engine.active_playbook() if active else None
    table = Table(title="autonomy")
    for column in ("action", "playbook level", "overrides", "held at", "since", "why"):
        table.add_column(column)
    names = list(playbook.actions) if playbook else sorted(demotions)
    for name in names:
        level = playbook.actions[name].autonomy.value if playbook else ""
        own = playbook.autonomy.actions.get(name) if playbook else None
        overrides = len(own.overrides) if own else 0
        demotion = demotions.get(name)
        table.add_row(
            name,
            level,
            str(overrides) if overrides else "",
            demotion.level.value if demotion else "",
            f"{demotion.demoted_at:%Y-%m-%d %H:%M}" if demotion else "",
            escape(f"{demotion.trigger.value}: {demotion.reason}") if demotion else "",
        )
    console.print(table)
    if not demotions:
        console.print("no action is demoted")


@app.command("demote")
def demote(
    trigger: Annotated[DemotionTrigger, typer.Argument(help="what happened")],
    reason: ReasonOption,
    action: Annotated[
        list[str] | None,
        typer.Option("--action", "-a", help="only this action (repeatable; default: all)"),
    ] = None,
    database_url: DatabaseOption = None,
) -> None:
    """Demote the actions the playbook demotes on TRIGGER, until a person restores them."""
    with open_engine(database_url) as engine:
        changed = engine.demote_autonomy(trigger, reason=reason, actions=action)
    for demotion in changed:
        _print_demotion(demotion)
    if not changed:
        console.print(f"nothing changed: no action is demoted further on {trigger.value}")


@app.command("restore")
def restore(
    action: Annotated[str, typer.Argument(help="the demoted action")],
    reason: ReasonOption,
    database_url: DatabaseOption = None,
) -> None:
    """Restore a demoted action to its playbook level."""
    with open_engine(database_url) as engine:
        restored = engine.restore_autonomy(action, reason=reason)
    console.print(
        f"{escape(restored.action)} restored (was held at {restored.level.value} since "
        f"{restored.demoted_at:%Y-%m-%d %H:%M})"
    )


def _print_demotion(demotion: AutonomyDemotion) -> None:
    console.print(
        f"{escape(demotion.action)} demoted to {demotion.level.value} "
        f"({demotion.trigger.value}); announced as exception {demotion.exception_id}"
    )
