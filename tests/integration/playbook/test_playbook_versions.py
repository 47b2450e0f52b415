"""Stored playbook versions on SQLite and PostgreSQL: apply, history, diff, rollback."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from nextmove import Engine
from nextmove.domain import Product, Team, TeamFunction
from nextmove.errors import NotFound, PlaybookInvalid
from nextmove.playbook import service
from nextmove.playbook.model import Problem
from nextmove.playbook.service import content_hash

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "playbooks" / "b2b_saas.yaml"
T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
TEAMS = {
    "team-sales": TeamFunction.SALES,
    "team-marketing": TeamFunction.MARKETING,
    "team-customer-success": TeamFunction.CUSTOMER_SUCCESS,
    "team-service": TeamFunction.SERVICE,
}
PRODUCTS = (
    "prod-analytics-core",
    "prod-analytics-pro",
    "prod-predictive-insights",
    "prod-data-pipelines",
    "prod-dataguard",
    "prod-engage-email",
    "prod-engage-journeys",
    "prod-platform-sso",
    "prod-audit-trail",
    "prod-premium-support",
    "prod-onboarding-plus",
)


def seed_catalog(engine: Engine, products: tuple[str, ...] = PRODUCTS) -> None:
    engine.ingest(
        [Team(team_id=team, name=team, function=function) for team, function in TEAMS.items()],
        [Product(product_id=product, name=product) for product in products],
    )


@pytest.fixture
def example() -> str:
    return EXAMPLE.read_text(encoding="utf-8")


def apply(engine: Engine, text: str, *, author: str = "maya", minutes: int = 0) -> int:
    applied = service.apply_playbook(
        engine=engine.database,
        text=text,
        author=author,
        message=f"change by {author}",
        now=T0 + timedelta(minutes=minutes),
    )
    return applied.version.version


def test_apply_stores_a_version_and_reapplying_is_a_no_op(engine: Engine, example: str) -> None:
    seed_catalog(engine)
    assert service.active(engine=engine.database) is None
    applied = service.apply_playbook(
        engine=engine.database, text=example, author="maya", message="initial rules", now=T0
    )
    assert applied.created and applied.warnings == ()
    stored = applied.version
    assert (stored.version, stored.author, stored.message) == (1, "maya", "initial rules")
    assert stored.created_at == T0
    assert stored.content == example
    assert stored.content_hash == content_hash(example)
    assert stored.rollback_of is None

    again = service.apply_playbook(
        engine=engine.database,
        text=example.replace("\n", "\r\n"),  # a Windows checkout is the same content
        author="tomas",
        message="same again",
        now=T0 + timedelta(hours=1),
    )
    assert not again.created
    assert again.version == stored
    assert service.history(engine=engine.database) == [stored]
    assert service.active(engine=engine.database) == stored


def test_an_invalid_playbook_is_refused_and_nothing_is_stored(engine: Engine, example: str) -> None:
    seed_catalog(engine, products=PRODUCTS[:-1])  # no prod-onboarding-plus in this catalog
    with pytest.raises(PlaybookInvalid) as caught:
        apply(engine, example.replace("team: team-marketing", "team: team-marketting"))
    problems = [p for p in caught.value.problems if isinstance(p, Problem)]
    assert [(p.path, p.message) for p in problems] == [
        ("value.levers.products.prod-onboarding-plus", "unknown product 'prod-onboarding-plus'"),
        ("actions.digital_program.team", "unknown team 'team-marketting'"),
        ("actions.service_conversation.products[1]", "unknown product 'prod-onboarding-plus'"),
    ]
    assert all(p.line is not None for p in problems)
    assert service.history(engine=engine.database) == []
    with pytest.raises(PlaybookInvalid, match="message saying why"):
        service.apply_playbook(
            engine=engine.database, text=example, author="a", message=" ", now=T0
        )


def test_history_get_and_diff(engine: Engine, example: str) -> None:
    seed_catalog(engine)
    apply(engine, example, author="maya")
    apply(
        engine,
        example.replace("min_confidence: 0.6", "min_confidence: 0.7"),
        author="li",
        minutes=5,
    )
    history = service.history(engine=engine.database)
    assert [(v.version, v.author) for v in history] == [(2, "li"), (1, "maya")]
    assert service.history(engine=engine.database, limit=1) == history[:1]
    assert service.get(engine=engine.database, version=1).content == example
    with pytest.raises(NotFound, match="no playbook version 7"):
        service.get(engine=engine.database, version=7)

    difference = service.diff(engine=engine.database, a=1, b=2)
    assert difference.summary() == "thresholds:\n  ~ thresholds.min_confidence: 0.6 → 0.7"
    assert difference.text.startswith("--- v1\n+++ v2\n")
    assert "-  min_confidence: 0.6\n+  min_confidence: 0.7" in difference.text


def test_rollback_stores_the_old_content_as_a_new_version(engine: Engine, example: str) -> None:
    seed_catalog(engine)
    apply(engine, example)
    apply(engine, example.replace("holdout_share: 0.10", "holdout_share: 0.20"), minutes=1)
    rolled = service.rollback(
        engine=engine.database, version=1, author="ops-lead", message="holdout too big", now=T0
    )
    assert rolled.created
    assert (rolled.version.version, rolled.version.rollback_of) == (3, 1)
    assert rolled.version.content == example
    assert rolled.version.content_hash == content_hash(example)
    assert service.active(engine=engine.database) == rolled.version

    again = service.rollback(
        engine=engine.database, version=1, author="ops-lead", message="again", now=T0
    )
    assert not again.created and again.version == rolled.version
    assert len(service.history(engine=engine.database)) == 3
    with pytest.raises(NotFound):
        service.rollback(engine=engine.database, version=9, author="x", message="y", now=T0)


def test_rollback_refuses_a_version_the_catalog_no_longer_supports(
    engine: Engine, example: str
) -> None:
    written_before_the_catalog = example.replace(
        "prod-onboarding-plus: 0.8", "prod-retired-widget: 0.8"
    )
    assert apply(engine, written_before_the_catalog) == 1  # empty store: warnings only
    seed_catalog(engine)
    assert apply(engine, example, minutes=1) == 2
    with pytest.raises(PlaybookInvalid, match="unknown product 'prod-retired-widget'"):
        service.rollback(engine=engine.database, version=1, author="x", message="back", now=T0)
    active = service.active(engine=engine.database)
    assert active is not None and active.version == 2


def test_known_catalog_comes_from_the_store(engine: Engine) -> None:
    empty = service.known_catalog(engine=engine.database)
    assert (empty.products, empty.teams) == (None, None)
    seed_catalog(engine)
    known = service.known_catalog(engine=engine.database)
    assert known.products == frozenset(PRODUCTS)
    assert known.teams == frozenset(TEAMS)
