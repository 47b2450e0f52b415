"""The Engine facade enforces roles for every call, so every door inherits it."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from nextmove import Engine, Settings
from nextmove.errors import AccessDenied, AuthenticationFailed
from nextmove.governance.model import Role


def _as(database_url: str, user: str, token: str) -> Engine:
    return Engine.open(
        settings=Settings(database_url=database_url, user=user, token=SecretStr(token))
    )


@pytest.fixture
def tokens(engine: Engine, database_url: str) -> dict[Role, str]:
    """One user per role; the first admin bootstraps the installation."""
    _, admin_token = engine.bootstrap_admin("root", "Root Admin")
    made = {Role.ADMIN: admin_token}
    with _as(database_url, "root", admin_token) as admin:
        for role in Role:
            if role is not Role.ADMIN:
                _, made[role] = admin.add_user(f"u-{role.value}", role.value.title(), role)
    return made


def _user(role: Role) -> str:
    return "root" if role is Role.ADMIN else f"u-{role.value}"


@pytest.mark.parametrize("role", list(Role))
def test_imports_need_the_import_permission(
    role: Role, tokens: dict[Role, str], database_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "accounts.csv"
    path.write_text("account_id,name\na1,Acme\n", encoding="utf-8")
    may_import = role in (Role.ADMIN, Role.OPS, Role.STEWARD)
    with _as(database_url, _user(role), tokens[role]) as acting:
        if may_import:
            assert acting.import_file("accounts", path).inserted == 1
        else:
            with pytest.raises(AccessDenied, match="import_data"):
                acting.import_file("accounts", path)
        # everyone may read
        assert acting.count("accounts") == (1 if may_import else 0)


def test_a_wrong_token_is_refused(tokens: dict[Role, str], database_url: str) -> None:
    with _as(database_url, "u-viewer", "not-the-token") as acting:
        with pytest.raises(AuthenticationFailed):
            acting.count("accounts")


def test_without_identity_once_users_exist(tokens: dict[Role, str], database_url: str) -> None:
    with Engine.open(database_url) as anonymous:
        with pytest.raises(AuthenticationFailed, match="NEXTMOVE_USER"):
            anonymous.count("accounts")


def test_a_fresh_installation_is_single_user(engine: Engine) -> None:
    assert engine.identity().role is Role.ADMIN
    assert engine.count("accounts") == 0
