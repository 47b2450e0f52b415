"""Governance fixtures: the database of the ``engine`` fixture and users of every role."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest
from sqlalchemy import Engine as SqlEngine

from nextmove import Engine
from nextmove.governance import service
from nextmove.governance.model import Actor, Role

MakeUser = Callable[..., Actor]


@pytest.fixture
def db(engine: Engine) -> SqlEngine:
    """The SQLAlchemy engine of a fresh, migrated database."""
    return engine.database


@pytest.fixture
def admin(db: SqlEngine, clock: Callable[[], datetime]) -> Actor:
    """The bootstrapped first admin, ``root``."""
    user, _token = service.bootstrap_admin(store=db, user_id="root", name="Root", now=clock)
    return user.as_actor()


@pytest.fixture
def make_user(db: SqlEngine, clock: Callable[[], datetime], admin: Actor) -> MakeUser:
    """Add a user of a role (id defaults to the role's name) and return it as an actor."""

    def make(role: Role, user_id: str | None = None) -> Actor:
        user, _token = service.add_user(
            store=db,
            actor=admin,
            user_id=user_id or role.value,
            name=(user_id or role.value).title(),
            role=role,
            now=clock,
        )
        return user.as_actor()

    return make
