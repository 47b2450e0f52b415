"""Users: the first admin, adding, authenticating, deactivating and rotating tokens."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest
from sqlalchemy import Engine as SqlEngine
from sqlalchemy import select

from nextmove.errors import AccessDenied, AuthenticationFailed, GovernanceError, NotFound
from nextmove.governance import service
from nextmove.governance.model import Actor, Role
from nextmove.store import tables as t

Clock = Callable[[], datetime]
MakeUser = Callable[..., Actor]


def test_bootstrap_creates_the_first_admin_once(db: SqlEngine, clock: Clock) -> None:
    user, token = service.bootstrap_admin(store=db, user_id="ana", name="Ana", now=clock)
    assert user.role is Role.ADMIN and user.active and user.created_by is None
    assert user.created_at == clock()
    assert service.authenticate(store=db, user_id="ana", token=token) == Actor(
        user_id="ana", role=Role.ADMIN
    )
    with pytest.raises(GovernanceError, match="users already exist"):
        service.bootstrap_admin(store=db, user_id="eve", name="Eve", now=clock)


def test_only_the_token_hash_is_stored(db: SqlEngine, clock: Clock) -> None:
    user, token = service.bootstrap_admin(store=db, user_id="ana", name="Ana", now=clock)
    with db.connect() as connection:
        stored = connection.execute(select(t.users.c.token_hash)).scalar_one()
    assert token not in stored and stored.startswith("scrypt$")
    assert "token" not in user.model_dump() and "token_hash" not in user.model_dump()


def test_an_admin_adds_users_whose_tokens_work(db: SqlEngine, clock: Clock, admin: Actor) -> None:
    user, token = service.add_user(
        store=db, actor=admin, user_id="olga", name="Olga", role=Role.OPS, now=clock
    )
    assert user.created_by == "root" and user.role is Role.OPS
    actor = service.authenticate(store=db, user_id="olga", token=token)
    assert actor == Actor(user_id="olga", role=Role.OPS)
    assert [u.user_id for u in service.list_users(store=db, actor=admin)] == ["olga", "root"]


@pytest.mark.parametrize("role", [r for r in Role if r is not Role.ADMIN])
def test_only_admins_manage_users(
    db: SqlEngine, clock: Clock, make_user: MakeUser, role: Role
) -> None:
    actor = make_user(role)
    with pytest.raises(AccessDenied, match=f"user {role.value} \\({role.value}\\) may not"):
        service.add_user(store=db, actor=actor, user_id="x", name="X", role=Role.ADMIN, now=clock)
    with pytest.raises(AccessDenied):
        service.list_users(store=db, actor=actor)
    with pytest.raises(AccessDenied):
        service.deactivate_user(store=db, actor=actor, user_id="root", now=clock)
    with pytest.raises(AccessDenied):
        service.rotate_token(store=db, actor=actor, user_id="root", now=clock)


def test_a_user_id_is_never_reused(db: SqlEngine, clock: Clock, admin: Actor) -> None:
    with pytest.raises(GovernanceError, match="user root already exists"):
        service.add_user(store=db, actor=admin, user_id="root", name="R", role=Role.REP, now=clock)


@pytest.mark.parametrize(
    "user_id, name, message",
    [("has space", "X", "must be up to 128"), ("-x", "X", "starting with"), ("ok", " ", "name")],
)
def test_bad_user_ids_and_names_are_refused(
    db: SqlEngine, clock: Clock, admin: Actor, user_id: str, name: str, message: str
) -> None:
    with pytest.raises(GovernanceError, match=message):
        service.add_user(
            store=db, actor=admin, user_id=user_id, name=name, role=Role.REP, now=clock
        )


@pytest.mark.parametrize("user_id, token", [("root", "wrong"), ("nobody", "whatever")])
def test_authentication_fails_alike_for_a_wrong_token_or_unknown_user(
    db: SqlEngine, admin: Actor, user_id: str, token: str
) -> None:
    with pytest.raises(AuthenticationFailed, match=f"unknown user or wrong token for '{user_id}'"):
        service.authenticate(store=db, user_id=user_id, token=token)


def test_a_deactivated_user_can_no_longer_act(db: SqlEngine, clock: Clock, admin: Actor) -> None:
    _user, token = service.add_user(
        store=db, actor=admin, user_id="rex", name="Rex", role=Role.REP, now=clock
    )
    changed = service.deactivate_user(store=db, actor=admin, user_id="rex", now=clock)
    assert changed.active is False
    with pytest.raises(AuthenticationFailed, match="deactivated"):
        service.authenticate(store=db, user_id="rex", token=token)
    with pytest.raises(GovernanceError, match="already deactivated"):
        service.deactivate_user(store=db, actor=admin, user_id="rex", now=clock)
    with pytest.raises(GovernanceError, match="cannot be rotated"):
        service.rotate_token(store=db, actor=admin, user_id="rex", now=clock)
    with pytest.raises(NotFound):
        service.deactivate_user(store=db, actor=admin, user_id="ghost", now=clock)


def test_the_last_active_admin_cannot_be_deactivated(
    db: SqlEngine, clock: Clock, admin: Actor, make_user: MakeUser
) -> None:
    with pytest.raises(GovernanceError, match="last active admin"):
        service.deactivate_user(store=db, actor=admin, user_id="root", now=clock)
    second = make_user(Role.ADMIN, "boss")
    service.deactivate_user(store=db, actor=second, user_id="root", now=clock)
    with pytest.raises(GovernanceError, match="last active admin"):
        service.deactivate_user(store=db, actor=second, user_id="boss", now=clock)


def test_anyone_rotates_their_own_token_and_the_old_one_stops_working(
    db: SqlEngine, clock: Clock, admin: Actor
) -> None:
    _user, old = service.add_user(
        store=db, actor=admin, user_id="vic", name="Vic", role=Role.VIEWER, now=clock
    )
    vic = service.authenticate(store=db, user_id="vic", token=old)
    new = service.rotate_token(store=db, actor=vic, now=clock)
    assert new != old
    assert service.authenticate(store=db, user_id="vic", token=new) == vic
    with pytest.raises(AuthenticationFailed):
        service.authenticate(store=db, user_id="vic", token=old)


def test_an_admin_rotates_another_users_token(
    db: SqlEngine, clock: Clock, admin: Actor, make_user: MakeUser
) -> None:
    make_user(Role.REP, "rex")
    token = service.rotate_token(store=db, actor=admin, user_id="rex", now=clock)
    assert service.authenticate(store=db, user_id="rex", token=token).user_id == "rex"
    with pytest.raises(NotFound):
        service.rotate_token(store=db, actor=admin, user_id="ghost", now=clock)


def test_user_changes_are_audited_without_tokens(
    db: SqlEngine, clock: Clock, admin: Actor, make_user: MakeUser
) -> None:
    make_user(Role.REP, "rex")
    service.rotate_token(store=db, actor=admin, user_id="rex", now=clock)
    service.deactivate_user(store=db, actor=admin, user_id="rex", now=clock)
    entries = service.audit_entries(store=db, actor=admin)
    assert [(e.action, e.actor, e.subject) for e in reversed(entries)] == [
        ("user.bootstrap", "root", "user:root"),
        ("user.add", "root", "user:rex"),
        ("user.rotate_token", "root", "user:rex"),
        ("user.deactivate", "root", "user:rex"),
    ]
    assert all("scrypt" not in e.details and "token_hash" not in e.details for e in entries)
