"""A rep works as a CRM owner and sees, and may act on, only the approvals of its accounts."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from pydantic import SecretStr

from nextmove import Engine, Settings
from nextmove.domain import Account
from nextmove.errors import AccessDenied, GovernanceError, NotFound
from nextmove.governance import access
from nextmove.governance.model import Actor, Approval, ApprovalStatus, Permission, Role

OWNER_OF = {"acct-r1": "o-rita", "acct-r2": "o-rita", "acct-s1": "o-sam", "acct-none": None}
# Requested oldest first; acct-ghost was never imported, so it has no owner either.
REQUESTED = ("acct-s1", "acct-r1", "acct-none", "acct-ghost", "acct-r2")
USERS = (
    ("rita", Role.REP, "o-rita"),
    ("sam", Role.REP, "o-sam"),
    ("nora", Role.REP, None),
    ("abe", Role.APPROVER, None),
)

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Company:
    """Each user's token and the approval id requested for each account."""

    url: str
    clock: Clock
    tokens: dict[str, str]
    approval_of: dict[str, int]

    def acting(self, user_id: str) -> Engine:
        """An Engine acting as ``user_id``, authenticated by its token."""
        token = SecretStr(self.tokens[user_id])
        settings = Settings(database_url=self.url, user=user_id, token=token)
        return Engine.open(settings=settings, clock=self.clock)

    def ids(self, *accounts: str) -> list[int]:
        return [self.approval_of[account] for account in accounts]


@pytest.fixture
def company(engine: Engine, database_url: str, clock: Clock) -> Iterator[Company]:
    """Accounts of two owners, reps working as them (one as nobody), a request per account."""
    engine.ingest(
        [
            Account(account_id=key, name=key.title(), owner_id=owner)
            for key, owner in OWNER_OF.items()
        ]
    )
    _, root_token = engine.bootstrap_admin("root", "Root")
    made = Company(url=database_url, clock=clock, tokens={"root": root_token}, approval_of={})
    with made.acting("root") as root:
        for user_id, role, owner in USERS:
            _, made.tokens[user_id] = root.add_user(user_id, user_id.title(), role, owner_id=owner)
        for account_id in REQUESTED:
            made.approval_of[account_id] = root.request_approval(
                account_id=account_id,
                action="sales_outreach",
                payload={"discount": 0.1},
                expires_at=clock() + timedelta(days=2),
            ).approval_id
    yield made


def ids_of(approvals: list[Approval]) -> list[int]:
    return [item.approval_id for item in approvals]


def test_a_rep_sees_only_the_approvals_of_the_accounts_it_owns(company: Company) -> None:
    with company.acting("rita") as rita:
        assert ids_of(rita.approvals()) == company.ids("acct-r1", "acct-r2")
        # Narrowed in the query, before the limit: older requests of others take no slot.
        assert ids_of(rita.approvals(limit=1)) == company.ids("acct-r1")
        own = rita.approval(company.approval_of["acct-r1"])
        assert own.account_id == "acct-r1"
    with company.acting("sam") as sam:
        assert ids_of(sam.approvals()) == company.ids("acct-s1")
    with company.acting("abe") as abe:
        abe.approve(company.approval_of["acct-r1"])
    with company.acting("rita") as rita:
        assert ids_of(rita.approvals(ApprovalStatus.PENDING)) == company.ids("acct-r2")
        assert ids_of(rita.approvals(ApprovalStatus.APPROVED)) == company.ids("acct-r1")


@pytest.mark.parametrize("account_id", ["acct-s1", "acct-none", "acct-ghost"])
def test_another_owners_approval_is_not_found_like_a_missing_one(
    company: Company, account_id: str
) -> None:
    approval_id = company.approval_of[account_id]
    with company.acting("rita") as rita:
        with pytest.raises(NotFound) as hidden:
            rita.approval(approval_id)
        with pytest.raises(NotFound) as missing:
            rita.approval(9_999)
    assert str(hidden.value) == f"no approval {approval_id}"
    assert str(missing.value) == "no approval 9999"  # the same words: nothing is revealed


def test_a_rep_working_as_no_owner_sees_no_approval(company: Company) -> None:
    with company.acting("nora") as nora:
        assert nora.identity() == Actor(user_id="nora", role=Role.REP)
        assert nora.approvals() == []
        for approval_id in company.approval_of.values():
            with pytest.raises(NotFound):
                nora.approval(approval_id)


@pytest.mark.parametrize("user_id", ["root", "abe"])
def test_other_roles_see_every_approval(company: Company, user_id: str) -> None:
    with company.acting(user_id) as acting:
        assert ids_of(acting.approvals()) == company.ids(*REQUESTED)
        for approval_id in company.approval_of.values():
            assert acting.approval(approval_id).approval_id == approval_id


def test_the_scope_follows_the_accounts_current_owner(company: Company) -> None:
    with company.acting("root") as root:
        root.ingest([Account(account_id="acct-s1", name="Acct-S1", owner_id="o-rita")])
    with company.acting("rita") as rita:
        assert ids_of(rita.approvals()) == company.ids("acct-s1", "acct-r1", "acct-r2")
    with company.acting("sam") as sam:
        assert sam.approvals() == []


def test_reps_may_not_decide_approvals_even_their_own_accounts(company: Company) -> None:
    with company.acting("rita") as rita:
        with pytest.raises(AccessDenied, match="may not approve"):
            rita.approve(company.approval_of["acct-r1"])


def test_a_rep_allowed_to_approve_still_acts_only_on_its_accounts(
    company: Company, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The matrix keeps reps from approving today; the scope must hold if that ever changes.
    granted = access.PERMISSIONS[Role.REP] | {Permission.APPROVE}
    monkeypatch.setitem(access.PERMISSIONS, Role.REP, granted)
    foreign = company.approval_of["acct-s1"]
    with company.acting("rita") as rita:
        for attempt in (
            lambda: rita.approve(foreign),
            lambda: rita.reject(foreign, "not mine"),
            lambda: rita.edit_and_approve(foreign, {"discount": 0.5}),
        ):
            with pytest.raises(NotFound, match=f"^no approval {foreign}$"):
                attempt()
        assert rita.approve(company.approval_of["acct-r1"]).status is ApprovalStatus.APPROVED
    with company.acting("root") as root:
        untouched = root.approval(foreign)
        assert untouched.status is ApprovalStatus.PENDING and untouched.approvers == ()
        assert untouched.payload == {"discount": 0.1}


def test_users_carry_the_crm_owner_they_work_as(company: Company) -> None:
    with company.acting("root") as root:
        owners = {user.user_id: user.owner_id for user in root.users()}
        added = root.audit_entries(action="user.add", limit=10)
    assert owners == {"abe": None, "nora": None, "rita": "o-rita", "root": None, "sam": "o-sam"}
    assert {json.loads(entry.details)["owner_id"] for entry in added} == {None, "o-rita", "o-sam"}
    with company.acting("rita") as rita:
        assert rita.identity() == Actor(user_id="rita", role=Role.REP, owner_id="o-rita")


@pytest.mark.parametrize("owner_id", ["", "   ", "o" * 129])
def test_a_blank_or_overlong_owner_id_is_refused(company: Company, owner_id: str) -> None:
    with company.acting("root") as root:
        with pytest.raises(GovernanceError, match="CRM owner id"):
            root.add_user("olly", "Olly", Role.REP, owner_id=owner_id)
        assert "olly" not in {user.user_id for user in root.users()}


def test_an_owner_id_is_stored_trimmed(company: Company) -> None:
    with company.acting("root") as root:
        user, company.tokens["tom"] = root.add_user("tom", "Tom", Role.REP, owner_id=" o-tom ")
    assert user.owner_id == "o-tom"
    with company.acting("tom") as tom:
        assert tom.identity().owner_id == "o-tom"
