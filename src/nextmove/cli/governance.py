"""Governance commands: users, audit, kill switches, approvals and exceptions.

The acting user is never a flag: it is ``NEXTMOVE_USER`` with its ``NEXTMOVE_TOKEN``,
read through ``Settings`` and authenticated before anything else happens; its role
then decides what it may do. Errors are NextmoveErrors, turned into messages by
``nextmove.cli.app.main``.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta
from typing import Annotated, NoReturn

import typer
from pydantic import JsonValue
from rich.markup import escape
from rich.table import Table

from nextmove.bootstrap import system_clock
from nextmove.cli.console import console, error_console
from nextmove.cli.session import DatabaseOption, open_engine
from nextmove.governance.model import (
    Approval,
    ApprovalStatus,
    AuditEntry,
    ExceptionItem,
    ExceptionKind,
    ExceptionStatus,
    KillScope,
    Role,
    User,
)

__all__ = ["approvals_app", "audit_app", "exceptions_app", "kill_app", "users_app"]

users_app = typer.Typer(help="Users, roles and their tokens.", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
kill_app = typer.Typer(
    help="Kill switches: stop everything, a motion or an action.", no_args_is_help=True
)
approvals_app = typer.Typer(help="Proposed actions waiting for people.", no_args_is_help=True)
exceptions_app = typer.Typer(help="What the system will not decide alone.", no_args_is_help=True)


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M}" if moment else ""


def _refuse(name: str, problem: str) -> NoReturn:
    """Print one ``error: NAME: problem`` line, as ``main`` does, and exit 2 (bad input)."""
    error_console.print(
        f"[bold red]error:[/] {escape(name)}: {escape(problem)}", highlight=False, soft_wrap=True
    )
    raise typer.Exit(2)


def _number(name: str, raw: str, *, above_zero: bool = False) -> float:
    """Return ``raw`` as a finite number of at least 0 (more than 0 with ``above_zero``)."""
    try:
        number = float(raw)
    except ValueError:
        _refuse(name, f"expected a number, got {raw!r}")
    if not math.isfinite(number) or number < 0 or (above_zero and number == 0):
        _refuse(name, f"must be a number {'above' if above_zero else 'of at least'} 0, got {raw}")
    return number


def _json_object(name: str, raw: str | None) -> dict[str, JsonValue]:
    """Return ``raw`` parsed as a JSON object ({} when absent); refuse anything else."""
    if raw is None:
        return {}
    try:
        parsed = json.loads(raw)
    except json.JSONDecodeError as exc:
        _refuse(name, f"not valid JSON ({exc.msg} at column {exc.colno}): {raw!r}")
    if not isinstance(parsed, dict):
        _refuse(name, f"expected a JSON object like '{{\"key\": 1}}', got {raw!r}")
    return parsed


def _print_token(user_id: str, token: str) -> None:
    console.print(f"token for {escape(user_id)}:", highlight=False)
    console.out(token, highlight=False)
    error_console.print(
        "[bold yellow]store this token now[/] (e.g. as NEXTMOVE_TOKEN): it is shown only "
        "once and cannot be recovered, only rotated."
    )


# --- users --------------------------------------------------------------------------


@users_app.command("bootstrap")
def users_bootstrap(
    user_id: Annotated[str, typer.Option("--id", help="the first admin's user id")],
    name: Annotated[str, typer.Option("--name", help="the first admin's name")],
    database_url: DatabaseOption = None,
) -> None:
    """Create the first admin of an empty installation and print its token once."""
    with open_engine(database_url) as engine:
        user, token = engine.bootstrap_admin(user_id, name)
    console.print(f"created admin {escape(user.user_id)} ({escape(user.name)})")
    _print_token(user.user_id, token)


@users_app.command("add")
def users_add(
    user_id: Annotated[str, typer.Argument(help="the new user's id")],
    name: Annotated[str, typer.Option("--name", help="the new user's name")],
    role: Annotated[Role, typer.Option("--role", help="what the user may do")],
    owner: Annotated[
        str | None,
        typer.Option(
            "--owner",
            help="the CRM owner id the user works as (a rep sees that owner's accounts)",
            show_default=False,
        ),
    ] = None,
    database_url: DatabaseOption = None,
) -> None:
    """Add a user with a role (and the CRM owner it works as) and print its token once."""
    with open_engine(database_url) as engine:
        user, token = engine.add_user(user_id, name, role, owner_id=owner)
    works_as = f", working as CRM owner {escape(user.owner_id)}" if user.owner_id else ""
    console.print(f"added {escape(user.user_id)} ({escape(user.name)}) as {user.role}{works_as}")
    _print_token(user.user_id, token)


@users_app.command("list")
def users_list(database_url: DatabaseOption = None) -> None:
    """List users with their roles (never their tokens)."""
    with open_engine(database_url) as engine:
        users = engine.users()
    _print_users(users)


def _print_users(users: list[User]) -> None:
    table = Table(title="Users")
    for column in ("user", "name", "role", "owner", "active", "created", "by"):
        table.add_column(column)
    for user in users:
        table.add_row(
            escape(user.user_id),
            escape(user.name),
            user.role.value,
            escape(user.owner_id or ""),
            "yes" if user.active else "no",
            _when(user.created_at),
            escape(user.created_by or ""),
        )
    console.print(table)


@users_app.command("deactivate")
def users_deactivate(
    user_id: Annotated[str, typer.Argument(help="the user to deactivate")],
    database_url: DatabaseOption = None,
) -> None:
    """Deactivate a user; its token stops working at once."""
    with open_engine(database_url) as engine:
        engine.deactivate_user(user_id)
    console.print(f"deactivated {escape(user_id)}")


@users_app.command("rotate-token")
def users_rotate_token(
    user_id: Annotated[
        str | None, typer.Argument(help="whose token (default: your own)", show_default=False)
    ] = None,
    database_url: DatabaseOption = None,
) -> None:
    """Replace a token (your own, or another user's as an admin) and print the new one once."""
    with open_engine(database_url) as engine:
        token = engine.rotate_token(user_id)
        whose = user_id or engine.identity().user_id
    _print_token(whose, token)


# --- audit --------------------------------------------------------------------------


@audit_app.command("list")
def audit_list(
    limit: Annotated[int, typer.Option(help="how many entries to show")] = 50,
    action: Annotated[str | None, typer.Option(help="only this action, e.g. approval.approve")] = (
        None
    ),
    database_url: DatabaseOption = None,
) -> None:
    """Show the newest audit entries: who did what, when, under which playbook version."""
    with open_engine(database_url) as engine:
        entries = engine.audit_entries(limit=limit, action=action)
    _print_audit(entries)


def _print_audit(entries: list[AuditEntry]) -> None:
    table = Table(title="Audit log (newest first)")
    for column in ("seq", "when", "actor", "action", "subject", "playbook", "details"):
        table.add_column(column, overflow="fold")
    for entry in entries:
        table.add_row(
            str(entry.seq),
            _when(entry.occurred_at),
            escape(entry.actor),
            entry.action,
            escape(entry.subject),
            str(entry.playbook_version or ""),
            escape(entry.details),
        )
    console.print(table)


@audit_app.command("verify")
def audit_verify(database_url: DatabaseOption = None) -> None:
    """Check the audit hash chain; exit 1 naming the first broken entry."""
    with open_engine(database_url) as engine:
        result = engine.verify_audit()
    if not result.ok:
        error_console.print(
            f"[bold red]audit chain broken at entry {result.first_broken_seq}[/]: "
            f"{escape(result.reason or '')} ({result.checked} entries before it are intact)"
        )
        raise typer.Exit(1)
    console.print(f"audit chain intact: {result.checked} entries")
    if result.head_hash:
        console.print(f"head hash {result.head_hash} (note it to detect truncation later)")


# --- kill switches ------------------------------------------------------------------

TargetArgument = Annotated[
    str | None,
    typer.Argument(help="the motion or action (none for global)", show_default=False),
]


@kill_app.command("engage")
def kill_engage(
    scope: Annotated[KillScope, typer.Argument(help="global, motion or action")],
    reason: Annotated[str, typer.Option("--reason", "-r", help="why (required)")],
    target: TargetArgument = None,
    database_url: DatabaseOption = None,
) -> None:
    """Stop everything, one motion or one action from the next decision on."""
    with open_engine(database_url) as engine:
        switch = engine.engage_kill_switch(scope, target, reason=reason)
    console.print(f"kill switch engaged on {_kill_label(switch.scope, switch.target)}")


@kill_app.command("release")
def kill_release(
    scope: Annotated[KillScope, typer.Argument(help="global, motion or action")],
    target: TargetArgument = None,
    reason: Annotated[str, typer.Option("--reason", "-r", help="why")] = "",
    database_url: DatabaseOption = None,
) -> None:
    """Release an engaged kill switch."""
    with open_engine(database_url) as engine:
        switch = engine.release_kill_switch(scope, target, reason=reason)
    console.print(f"kill switch released on {_kill_label(switch.scope, switch.target)}")


@kill_app.command("list")
def kill_list(database_url: DatabaseOption = None) -> None:
    """List engaged kill switches."""
    with open_engine(database_url) as engine:
        switches = engine.kill_switches()
    if not switches:
        console.print("no kill switch is engaged")
        return
    table = Table(title="Engaged kill switches")
    for column in ("scope", "target", "since", "by", "reason"):
        table.add_column(column)
    for switch in switches:
        table.add_row(
            switch.scope.value,
            escape(switch.target),
            _when(switch.changed_at),
            escape(switch.changed_by),
            escape(switch.reason),
        )
    console.print(table)


def _kill_label(scope: KillScope, target: str) -> str:
    return "everything (global)" if scope is KillScope.GLOBAL else f"{scope} {escape(target)}"


# --- approvals ----------------------------------------------------------------------


@approvals_app.command("list")
def approvals_list(
    status: Annotated[ApprovalStatus, typer.Option(help="which ones")] = ApprovalStatus.PENDING,
    show_all: Annotated[bool, typer.Option("--all", help="every status")] = False,
    limit: Annotated[int, typer.Option(help="how many to show")] = 100,
    database_url: DatabaseOption = None,
) -> None:
    """List approval requests (pending ones by default), oldest first."""
    with open_engine(database_url) as engine:
        approvals = engine.approvals(None if show_all else status, limit)
    if not approvals:
        console.print("no approvals" + ("" if show_all else f" {status}"))
        return
    table = Table(title="Approvals")
    for column in ("id", "status", "account", "action", "product", "value", "by", "expires"):
        table.add_column(column)
    table.add_column("approved")
    for item in approvals:
        table.add_row(
            str(item.approval_id),
            item.status.value,
            escape(item.account_id),
            escape(item.action),
            escape(item.product_id or ""),
            "" if item.value is None else f"{item.value:,.2f}",
            escape(item.requested_by),
            _when(item.expires_at),
            f"{len(item.approvers)}/{item.required_approvers}",
        )
    console.print(table)


@approvals_app.command("request")
def approvals_request(
    account_id: Annotated[str, typer.Argument(help="the account the move is for")],
    action: Annotated[str, typer.Argument(help="the proposed action, e.g. sales_outreach")],
    product: Annotated[
        str | None, typer.Option("--product", help="the product it offers", show_default=False)
    ] = None,
    value: Annotated[
        str | None,
        typer.Option(
            "--value",
            help="expected value of the move (0 or more)",
            metavar="AMOUNT",
            show_default=False,
        ),
    ] = None,
    payload: Annotated[
        str | None,
        typer.Option(
            "--payload", help='what to do, as a JSON object: {"discount": 0.1}', show_default=False
        ),
    ] = None,
    expires_in_hours: Annotated[
        str,
        typer.Option(
            "--expires-in-hours", help="how long approvers have to decide", metavar="HOURS"
        ),
    ] = "48",
    database_url: DatabaseOption = None,
) -> None:
    """Ask people to approve a proposed action; print its id, approvers needed and expiry."""
    amount = None if value is None else _number("--value", value)
    hours = _number("--expires-in-hours", expires_in_hours, above_zero=True)
    proposed = _json_object("--payload", payload)
    try:
        expires_at = system_clock() + timedelta(hours=hours)
    except OverflowError:
        _refuse("--expires-in-hours", f"{expires_in_hours} hours is beyond the calendar")
    with open_engine(database_url) as engine:
        item = engine.request_approval(
            account_id=account_id,
            action=action,
            payload=proposed,
            expires_at=expires_at,
            product_id=product or None,
            value=amount,
        )
    console.print(
        f"requested approval {item.approval_id}: {escape(item.action)} on "
        f"{escape(item.account_id)}",
        highlight=False,
    )
    console.print(f"required approvers: {item.required_approvers}", highlight=False)
    console.print(f"expires: {_when(item.expires_at)} UTC", highlight=False)


@approvals_app.command("show")
def approvals_show(
    approval_id: Annotated[int, typer.Argument(help="the approval's id")],
    database_url: DatabaseOption = None,
) -> None:
    """Show one approval request with its payload."""
    with open_engine(database_url) as engine:
        item = engine.approval(approval_id)
    _print_approval(item)


def _print_approval(item: Approval) -> None:
    fields = {
        "approval": str(item.approval_id),
        "status": item.status.value,
        "account": item.account_id,
        "action": item.action,
        "product": item.product_id or "",
        "value": "" if item.value is None else f"{item.value:,.2f}",
        "requested": f"{_when(item.requested_at)} by {item.requested_by}",
        "expires": _when(item.expires_at),
        "approvers": f"{', '.join(item.approvers) or 'none'} "
        f"({len(item.approvers)} of {item.required_approvers})",
        "decided": f"{_when(item.decided_at)} {item.decided_by or ''}".strip(),
        "reason": item.reason or "",
        "playbook": str(item.playbook_version or ""),
    }
    for label, text in fields.items():
        if text:
            console.print(f"[bold]{label}[/]: {escape(text)}", highlight=False)
    console.print("[bold]payload[/]:")
    console.print_json(json.dumps(item.payload))


@approvals_app.command("approve")
def approvals_approve(
    approval_id: Annotated[int, typer.Argument(help="the approval's id")],
    database_url: DatabaseOption = None,
) -> None:
    """Approve a pending request (never your own; four-eyes needs two different people)."""
    with open_engine(database_url) as engine:
        item = engine.approve(approval_id)
    _print_outcome(item)


@approvals_app.command("reject")
def approvals_reject(
    approval_id: Annotated[int, typer.Argument(help="the approval's id")],
    reason: Annotated[str, typer.Option("--reason", "-r", help="why (required)")],
    database_url: DatabaseOption = None,
) -> None:
    """Reject a pending request, with a reason."""
    with open_engine(database_url) as engine:
        item = engine.reject(approval_id, reason)
    _print_outcome(item)


@approvals_app.command("edit")
def approvals_edit(
    approval_id: Annotated[int, typer.Argument(help="the approval's id")],
    changes: Annotated[
        list[str],
        typer.Option("--set", help="payload change KEY=VALUE (VALUE as JSON, else text)"),
    ],
    database_url: DatabaseOption = None,
) -> None:
    """Change a pending request's payload, then approve the edited version."""
    payload_changes = dict(_payload_change(change) for change in changes)
    with open_engine(database_url) as engine:
        item = engine.edit_and_approve(approval_id, payload_changes)
    _print_outcome(item)


def _payload_change(change: str) -> tuple[str, JsonValue]:
    key, separator, raw = change.partition("=")
    if not separator or not key.strip():
        raise typer.BadParameter(f"expected KEY=VALUE, got {change!r}", param_hint="--set")
    try:
        value: JsonValue = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return key.strip(), value


def _print_outcome(item: Approval) -> None:
    if item.status is ApprovalStatus.PENDING:
        console.print(
            f"approval {item.approval_id}: {len(item.approvers)} of {item.required_approvers} "
            "approvals; waiting for another approver"
        )
        return
    console.print(f"approval {item.approval_id} {item.status}")


# --- exceptions ---------------------------------------------------------------------


@exceptions_app.command("list")
def exceptions_list(
    status: Annotated[ExceptionStatus, typer.Option(help="which ones")] = ExceptionStatus.OPEN,
    show_all: Annotated[bool, typer.Option("--all", help="open and resolved")] = False,
    owner: Annotated[str | None, typer.Option(help="only this owner's")] = None,
    limit: Annotated[int, typer.Option(help="how many to show")] = 100,
    database_url: DatabaseOption = None,
) -> None:
    """List exceptions (open ones by default), oldest first."""
    with open_engine(database_url) as engine:
        items = engine.exceptions(None if show_all else status, owner, limit)
    if not items:
        console.print("no exceptions" + ("" if show_all else f" {status}"))
        return
    table = Table(title="Exceptions")
    for column in ("id", "status", "kind", "account", "owner", "opened", "summary"):
        table.add_column(column)
    for item in items:
        table.add_row(
            str(item.exception_id),
            item.status.value,
            item.kind.value,
            escape(item.account_id or ""),
            escape(item.owner),
            _when(item.created_at),
            escape(item.summary),
        )
    console.print(table)


_KINDS = ", ".join(kind.value for kind in ExceptionKind)


@exceptions_app.command("open")
def exceptions_open(
    kind: Annotated[
        str,
        typer.Argument(
            help=f"why: {_KINDS}",
            metavar="KIND",
            show_default=False,
        ),
    ],
    summary: Annotated[str, typer.Argument(help="what needs a person's judgement")],
    account: Annotated[
        str | None, typer.Option("--account", help="the account it is about", show_default=False)
    ] = None,
    owner: Annotated[
        str | None,
        typer.Option("--owner", help="who resolves it (default: you)", show_default=False),
    ] = None,
    details: Annotated[
        str | None,
        typer.Option("--details", help="more context, as a JSON object", show_default=False),
    ] = None,
    database_url: DatabaseOption = None,
) -> None:
    """Queue something the system should not decide alone, for its owner to resolve."""
    try:
        known_kind = ExceptionKind(kind)
    except ValueError:
        _refuse("KIND", f"unknown kind {kind!r}; one of {_KINDS}")
    extra = _json_object("--details", details)
    with open_engine(database_url) as engine:
        item = engine.open_exception(
            known_kind,
            summary,
            owner if owner is not None else engine.identity().user_id,
            details=extra,
            account_id=account or None,
        )
    console.print(
        f"opened exception {item.exception_id} ({item.kind}) for {escape(item.owner)} to resolve",
        highlight=False,
    )


@exceptions_app.command("show")
def exceptions_show(
    exception_id: Annotated[int, typer.Argument(help="the exception's id")],
    database_url: DatabaseOption = None,
) -> None:
    """Show one exception with its details."""
    with open_engine(database_url) as engine:
        item = engine.exception(exception_id)
    _print_exception(item)


def _print_exception(item: ExceptionItem) -> None:
    fields = {
        "exception": str(item.exception_id),
        "status": item.status.value,
        "kind": item.kind.value,
        "account": item.account_id or "",
        "owner": item.owner,
        "opened": _when(item.created_at),
        "summary": item.summary,
        "resolved": f"{_when(item.resolved_at)} {item.resolved_by or ''}".strip(),
        "resolution": item.resolution or "",
    }
    for label, text in fields.items():
        if text:
            console.print(f"[bold]{label}[/]: {escape(text)}", highlight=False)
    if item.details:
        console.print("[bold]details[/]:")
        console.print_json(json.dumps(item.details))


@exceptions_app.command("resolve")
def exceptions_resolve(
    exception_id: Annotated[int, typer.Argument(help="the exception's id")],
    resolution: Annotated[str, typer.Option("--resolution", "-r", help="what was done")],
    database_url: DatabaseOption = None,
) -> None:
    """Resolve an open exception, saying what was done."""
    with open_engine(database_url) as engine:
        engine.resolve_exception(exception_id, resolution)
    console.print(f"exception {exception_id} resolved")
