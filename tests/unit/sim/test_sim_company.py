from __future__ import annotations

import math
import re
from datetime import timedelta

import numpy as np
import polars as pl
import pytest

from nextmove.domain import RECORD_TYPES
from nextmove.sim import (
    IMPORT_ORDER,
    AccountClass,
    ImperfectionRates,
    ResponseType,
    SimConfig,
    SyntheticCompany,
    generate,
)

INDUSTRIES = {
    "software",
    "finance",
    "healthcare",
    "manufacturing",
    "retail",
    "education",
    "telecommunications",
    "media",
    "logistics",
    "energy",
    "public_sector",
    "professional_services",
}
EU = {"DE", "FR", "NL", "SE", "ES", "IT", "IE", "PL"}


# -- determinism ----------------------------------------------------------------------


def test_same_seed_gives_identical_frames(company: SyntheticCompany, config: SimConfig) -> None:
    again = generate(config)
    for kind in IMPORT_ORDER:
        assert company.frames()[kind].equals(again.frames()[kind]), kind
    assert np.array_equal(company.truth.uplift, again.truth.uplift)
    assert np.array_equal(company.truth.need, again.truth.need)


def test_different_seed_gives_different_frames(company: SyntheticCompany) -> None:
    other = generate(SimConfig(seed=12, accounts=3_000))
    for kind in ("accounts", "contacts", "holdings", "signals", "outcomes"):
        assert not company.frames()[kind].equals(other.frames()[kind]), kind


# -- shape and validity ---------------------------------------------------------------


@pytest.mark.parametrize("kind", IMPORT_ORDER)
def test_columns_are_exactly_the_record_fields(company: SyntheticCompany, kind: str) -> None:
    assert company.frames()[kind].columns == list(RECORD_TYPES[kind].model_fields)


@pytest.mark.parametrize("kind", IMPORT_ORDER)
def test_rows_validate_against_the_domain_records(company: SyntheticCompany, kind: str) -> None:
    frame = company.frames()[kind]
    assert frame.height > 0
    sample = frame.sample(min(frame.height, 500), seed=0)
    record = RECORD_TYPES[kind]
    for row in sample.iter_rows(named=True):
        record.model_validate(row)


def test_imperfect_accounts_are_still_valid_records(company: SyntheticCompany) -> None:
    accounts = company.accounts
    imperfect = accounts.filter(
        pl.any_horizontal(pl.col("industry", "owner_id", "segment", "domain").is_null())
        | ~pl.col("industry").is_in(sorted(INDUSTRIES))
        | pl.col("account_id").is_in(list(company.truth.duplicate_of))
    )
    assert imperfect.height > 0.15 * accounts.height
    for row in imperfect.iter_rows(named=True):
        RECORD_TYPES["accounts"].model_validate(row)


def test_tiny_companies_generate_valid_frames() -> None:
    for accounts in (1, 2, 7):
        small = generate(SimConfig(seed=3, accounts=accounts, history_days=20, change_day=5))
        assert small.accounts.height == accounts
        for kind, frame in small.frames().items():
            for row in frame.iter_rows(named=True):
                RECORD_TYPES[kind].model_validate(row)


def test_ids_are_unique_and_well_formed(company: SyntheticCompany) -> None:
    for kind in IMPORT_ORDER:
        key = list(RECORD_TYPES[kind].key)
        assert not company.frames()[kind].select(key).is_duplicated().any(), kind
    assert company.accounts["account_id"][0] == "acct-000001"
    assert company.signals["event_id"].str.starts_with("evt-").all()
    assert company.products["product_id"].str.starts_with("prod-").all()


# -- referential integrity ------------------------------------------------------------


def test_references_resolve(company: SyntheticCompany) -> None:
    accounts = set(company.accounts["account_id"])
    products = set(company.products["product_id"])
    contacts = set(company.contacts["contact_id"])
    owners = set(company.owners["owner_id"])
    teams = set(company.teams["team_id"])
    for kind in ("contacts", "holdings", "opportunities", "signals", "outcomes"):
        assert set(company.frames()[kind]["account_id"]) <= accounts, kind
    for kind in ("holdings", "opportunities", "signals", "outcomes"):
        assert set(company.frames()[kind]["product_id"].drop_nulls()) <= products, kind
    for kind in ("signals", "outcomes"):
        assert set(company.frames()[kind]["contact_id"].drop_nulls()) <= contacts, kind
    assert set(company.accounts["owner_id"].drop_nulls()) <= owners
    assert set(company.accounts["parent_account_id"].drop_nulls()) <= accounts
    assert set(company.opportunities["owner_id"].drop_nulls()) <= owners
    assert set(company.owners["manager_id"].drop_nulls()) <= owners
    assert set(company.owners["team_id"]) <= teams
    opportunities = set(company.opportunities["opportunity_id"])
    assert set(company.outcomes["opportunity_id"].drop_nulls()) <= opportunities
    related = company.products.explode("related")["related"].drop_nulls()
    prerequisites = company.products.explode("prerequisites")["prerequisites"].drop_nulls()
    assert set(related) <= products and set(prerequisites) <= products


def test_held_products_have_their_prerequisites(company: SyntheticCompany) -> None:
    needs = {
        row["product_id"]: row["prerequisites"]
        for row in company.products.iter_rows(named=True)
        if row["prerequisites"]
    }
    assert needs, "the catalog should have prerequisites"
    held = company.holdings.group_by("account_id").agg(pl.col("product_id"), pl.col("since"))
    checked = 0
    for row in held.iter_rows(named=True):
        since = dict(zip(row["product_id"], row["since"], strict=True))
        for product, required in needs.items():
            if product in since:
                checked += 1
                for prerequisite in required:
                    assert prerequisite in since, (row["account_id"], product)
                    assert since[prerequisite] <= since[product]
    assert checked > 100


def test_about_sixty_percent_of_accounts_are_customers(company: SyntheticCompany) -> None:
    share = company.holdings["account_id"].n_unique() / company.accounts.height
    assert 0.55 <= share <= 0.65


# -- content --------------------------------------------------------------------------


def test_catalog_has_families_prices_and_flaws(company: SyntheticCompany) -> None:
    products = company.products
    assert 8 <= products.height <= 12
    assert products["family"].n_unique() >= 4
    assert (products["list_price"] > 0).all()
    pro = products.row(by_predicate=pl.col("product_id") == "prod-analytics-pro", named=True)
    assert pro["name"] == "Analytics Pro" and pro["prerequisites"] == ["prod-analytics-core"]
    names = dict(zip(products["product_id"], products["name"], strict=True))
    assert names["prod-dataguard"] == "DataGuard" and names["prod-data-guard"] == "Data Guard"
    assert company.truth.product_aliases == {"prod-data-guard": "prod-dataguard"}
    assert products["truth_owner"].null_count() == 1
    past_review = products.filter(pl.col("last_reviewed") < company.as_of - timedelta(days=365))
    assert 2 <= past_review.height <= 4


def test_accounts_are_firmographically_consistent(company: SyntheticCompany) -> None:
    accounts = company.accounts
    by_segment = (
        accounts.drop_nulls("segment")
        .group_by("segment")
        .agg(pl.col("employees").min().alias("low"), pl.col("employees").max().alias("high"))
    )
    bounds = {row["segment"]: (row["low"], row["high"]) for row in by_segment.iter_rows(named=True)}
    assert bounds["smb"][1] < 220 and bounds["mid"][0] >= 180 and bounds["mid"][1] < 2_200
    assert bounds["ent"][0] >= 1_800
    assert set(accounts["region"]) == {"EMEA", "NA", "APAC", "LATAM"}
    assert (accounts["annual_revenue"] > 0).all()
    assert (accounts["created_on"] < company.config.start).all()
    assert accounts["created_on"].is_sorted()  # numbered in the order they were created
    assert 0.01 < accounts["parent_account_id"].is_not_null().mean() < 0.05  # type: ignore[operator]


def test_contacts_have_consent_that_is_more_cautious_in_the_eu(company: SyntheticCompany) -> None:
    contacts = company.contacts
    per_account = contacts.group_by("account_id").len()["len"]
    assert per_account.min() == 1 and per_account.max() == 4
    assert contacts["account_id"].n_unique() == company.accounts.height
    assert set(contacts["email_consent"]) == {"opted_in", "opted_out", "unknown"}
    opted_in = contacts.group_by(pl.col("country").is_in(sorted(EU)).alias("eu")).agg(
        (pl.col("email_consent") == "opted_in").mean().alias("share")
    )
    share = dict(zip(opted_in["eu"], opted_in["share"], strict=True))
    assert share[True] < share[False] - 0.1
    assert 0.005 < contacts["do_not_contact"].mean() < 0.04  # type: ignore[operator]
    assert contacts["email"].drop_nulls().str.contains("@").all()


def test_signals_cover_the_history_window(company: SyntheticCompany) -> None:
    signals = company.signals
    config = company.config
    assert signals.height == config.signal_count
    assert signals.schema["occurred_at"] == pl.Datetime("us", "UTC")
    days = signals["occurred_at"].dt.date()
    assert days.min() == config.start and days.max() == company.as_of
    assert signals["occurred_at"].is_sorted()
    expected_types = {
        "web_visit",
        "pricing_page_visit",
        "intent_surge",
        "email_open",
        "email_click",
        "webinar_attended",
        "usage_score",
        "support_ticket_opened",
        "support_ticket_closed",
    }
    assert set(signals["signal_type"]) == expected_types
    sources = dict(signals.select("signal_type", "source").unique().iter_rows())
    assert sources["intent_surge"] == "bombora" and sources["usage_score"] == "product"
    assert sources["support_ticket_opened"] == "zendesk" and sources["web_visit"] == "web"


def test_signal_values_follow_their_types(company: SyntheticCompany) -> None:
    signals = company.signals
    usage = signals.filter(pl.col("signal_type") == "usage_score")
    assert usage["value"].is_between(0, 100).all() and usage["product_id"].is_not_null().all()
    intent = signals.filter(pl.col("signal_type") == "intent_surge")
    assert intent["product_id"].is_not_null().all()
    tickets = signals.filter(pl.col("signal_type").str.starts_with("support_ticket"))
    assert set(tickets["value"].cast(pl.Int64)) == {1, 2, 3, 4}
    assert tickets["ref"].is_not_null().all()
    opened = tickets.filter(pl.col("signal_type") == "support_ticket_opened")
    closed = tickets.filter(pl.col("signal_type") == "support_ticket_closed")
    assert set(closed["ref"]) <= set(opened["ref"])
    assert closed.height > 0.8 * opened.height
    pairs = opened.join(closed, on="ref", suffix="_closed")
    assert (pairs["occurred_at_closed"] > pairs["occurred_at"]).all()
    assert (pairs["account_id_closed"] == pairs["account_id"]).all()


def test_usage_scores_are_about_held_products(company: SyntheticCompany) -> None:
    usage = company.signals.filter(pl.col("signal_type") == "usage_score")
    unheld = usage.join(company.holdings, on=["account_id", "product_id"], how="anti")
    assert unheld.height == 0


def test_signal_intensity_follows_hidden_need(large_company: SyntheticCompany) -> None:
    truth = large_company.truth
    buying = large_company.signals.filter(
        pl.col("signal_type").is_in(["pricing_page_visit", "intent_surge"])
    )
    counts = (
        pl.DataFrame({"account_id": truth.account_ids, "need": truth.need.max(axis=1)})
        .join(buying.group_by("account_id").len(), on="account_id", how="left")
        .with_columns(pl.col("len").fill_null(0))
    )
    low, high = counts["need"].quantile(0.25), counts["need"].quantile(0.75)
    assert low is not None and high is not None
    bottom = counts.filter(pl.col("need") <= low)["len"].mean()
    top = counts.filter(pl.col("need") >= high)["len"].mean()
    assert isinstance(bottom, float) and isinstance(top, float)
    assert top > 2.0 * bottom


def test_email_clicks_fall_after_the_change_day(large_company: SyntheticCompany) -> None:
    config = large_company.config
    change = config.start + timedelta(days=config.change_day)
    email = large_company.signals.filter(pl.col("signal_type").is_in(["email_open", "email_click"]))
    rates = email.group_by(pl.col("occurred_at").dt.date() >= change).agg(
        (pl.col("signal_type") == "email_click").mean().alias("click_rate")
    )
    rate = dict(zip(rates["occurred_at"], rates["click_rate"], strict=True))
    assert rate[True] < 0.65 * rate[False]
    assert rate[True] > 0.35 * rate[False]


def test_outcomes_are_consistent_with_holdings_and_deals(company: SyntheticCompany) -> None:
    outcomes = company.outcomes
    config = company.config
    assert set(outcomes["outcome_type"]) == {
        "purchase",
        "opportunity_created",
        "opportunity_won",
        "opportunity_lost",
        "unsubscribe",
        "complaint",
    }
    days = outcomes["occurred_at"].dt.date()
    assert days.min() >= config.start and days.max() <= company.as_of
    purchases = outcomes.filter(pl.col("outcome_type") == "purchase").with_columns(
        since=pl.col("occurred_at").dt.date()
    )
    matched = purchases.join(company.holdings, on=["account_id", "product_id", "since"])
    assert matched.height == purchases.height > 0
    recent = company.holdings.filter(pl.col("since") >= config.start)
    assert recent.height == purchases.height
    won = company.opportunities.filter(pl.col("stage") == "won")
    bought = purchases.join(won, on="opportunity_id", suffix="_opp")
    assert bought.height == purchases.height
    assert (bought["close_date"] == bought["since"]).all()
    unsubscribed = outcomes.filter(pl.col("outcome_type") == "unsubscribe").join(
        company.contacts, on="contact_id"
    )
    assert (unsubscribed["email_consent"] == "opted_out").all()


def test_open_opportunities_close_in_the_future(company: SyntheticCompany) -> None:
    opportunities = company.opportunities
    stages = set(opportunities["stage"])
    assert stages == {"prospecting", "qualification", "proposal", "negotiation", "won", "lost"}
    open_ = opportunities.filter(~pl.col("stage").is_in(["won", "lost"]))
    assert (open_["close_date"] > company.as_of).all()
    assert (open_["created_on"] <= company.as_of).all()
    assert (opportunities["close_date"] >= opportunities["created_on"]).all()


# -- hidden truth ---------------------------------------------------------------------


def test_truth_covers_every_uplift_quadrant(large_company: SyntheticCompany) -> None:
    truth = large_company.truth
    n = len(truth.account_ids)
    assert truth.need.shape == (n, len(truth.product_ids))
    assert truth.uplift.shape == truth.response.shape == (n, 3)
    for kind in ResponseType:
        assert (truth.response == kind).any(), kind
    persuadable = truth.response == ResponseType.PERSUADABLE
    dog = truth.response == ResponseType.SLEEPING_DOG
    assert (truth.uplift[persuadable] > 0).all()
    assert (truth.uplift[dog] < 0).all()
    assert (truth.uplift[~persuadable & ~dog] == 0).all()
    assert (truth.harm[dog] > truth.harm[~dog].max()).all()
    sure = truth.account_class == AccountClass.SURE_THING
    lost = truth.account_class == AccountClass.LOST_CAUSE
    assert truth.baseline[sure].mean() > 5 * truth.baseline[~sure].mean()
    assert truth.baseline[lost].mean() < 0.2 * truth.baseline[~lost].mean()


def test_sales_pressure_is_a_sleeping_dog_mostly_in_smb(large_company: SyntheticCompany) -> None:
    segment = large_company.accounts["segment"].to_numpy()
    dog = large_company.truth.response[:, 0] == ResponseType.SLEEPING_DOG
    smb, ent = dog[segment == "smb"].mean(), dog[segment == "ent"].mean()
    assert smb > 0.1 and smb > 4 * ent


# -- imperfections --------------------------------------------------------------------


def test_missing_fields_land_on_their_rates(large_company: SyntheticCompany) -> None:
    rates = large_company.config.imperfections
    nulls = large_company.accounts.select(
        pl.col("industry", "owner_id", "segment", "domain").is_null().mean()
    ).row(0, named=True)
    assert nulls["industry"] == pytest.approx(rates.missing_industry, abs=0.005)
    assert nulls["owner_id"] == pytest.approx(rates.missing_owner, abs=0.005)
    assert nulls["segment"] == pytest.approx(rates.missing_segment, abs=0.005)
    assert nulls["domain"] == pytest.approx(rates.missing_domain, abs=0.005)


def test_some_industries_are_off_vocabulary(large_company: SyntheticCompany) -> None:
    industry = large_company.accounts["industry"].drop_nulls()
    odd = industry.filter(~industry.is_in(sorted(INDUSTRIES)))
    share = odd.len() / large_company.accounts.height
    assert share == pytest.approx(large_company.config.imperfections.misspelled_industry, abs=0.003)
    assert {"technolgy", "Health Care"} & set(odd)


def _bare_domain(domain: str) -> str:
    return re.sub(r"^(https?://)?(www\.)?", "", domain.lower()).rstrip("/")


def test_duplicate_accounts_are_name_and_domain_variants(large_company: SyntheticCompany) -> None:
    duplicate_of = large_company.truth.duplicate_of
    share = len(duplicate_of) / large_company.accounts.height
    assert share == pytest.approx(large_company.config.imperfections.duplicate_accounts, abs=0.002)
    accounts = large_company.accounts
    pairs = (
        pl.DataFrame({"account_id": list(duplicate_of), "original": list(duplicate_of.values())})
        .join(accounts, on="account_id")
        .join(accounts, left_on="original", right_on="account_id", suffix="_original")
    )
    assert (pairs["country"] == pairs["country_original"]).all()
    assert (pairs["name"] != pairs["name_original"]).all()
    both = pairs.drop_nulls(["domain", "domain_original"])
    assert both.height > 0.9 * pairs.height
    assert (both["domain"] != both["domain_original"]).all()
    for row in both.iter_rows(named=True):
        assert _bare_domain(row["domain"]) == _bare_domain(row["domain_original"])
        first_word = row["name_original"].split()[0].lower()
        assert first_word in row["name"].lower()
    # Duplicates are scattered among the accounts, not appended at the end.
    positions = accounts.with_row_index().filter(pl.col("account_id").is_in(list(duplicate_of)))
    assert positions["index"].min() < accounts.height // 2  # type: ignore[operator]


def test_clean_domains_are_unique(large_company: SyntheticCompany) -> None:
    originals = large_company.accounts.filter(
        ~pl.col("account_id").is_in(list(large_company.truth.duplicate_of))
    )
    domains = originals["domain"].drop_nulls()
    assert domains.n_unique() == domains.len()


def test_stale_accounts_have_no_recent_signals(large_company: SyntheticCompany) -> None:
    cutoff = large_company.as_of - timedelta(days=60)
    last = large_company.signals.group_by("account_id").agg(
        pl.col("occurred_at").max().dt.date().alias("last")
    )
    stale_ids = np.array(large_company.truth.account_ids)[large_company.truth.stale]
    stale_last = last.filter(pl.col("account_id").is_in(stale_ids.tolist()))
    assert (stale_last["last"] <= cutoff).all()
    quiet = large_company.accounts.height - last.filter(pl.col("last") > cutoff).height
    rate = large_company.config.imperfections.stale_accounts
    # At 12 signals per account a few low-activity accounts are quiet by chance as well.
    assert rate <= quiet / large_company.accounts.height <= rate + 0.035


def test_inactive_owners_still_own_accounts(company: SyntheticCompany) -> None:
    inactive = company.owners.filter(~pl.col("active"))
    reps = company.owners.filter(pl.col("role") == "rep").height
    assert inactive.height == math.ceil(company.config.imperfections.inactive_owners * reps)
    assert (inactive["role"] == "rep").all()
    owned = company.accounts.filter(pl.col("owner_id").is_in(inactive["owner_id"].to_list()))
    assert owned.height > 0


def test_owners_form_teams_with_managers(company: SyntheticCompany) -> None:
    owners = company.owners
    assert set(company.teams["function"]) == {"sales", "marketing", "customer_success", "service"}
    assert {"rep", "sdr", "csm", "manager", "marketer"} <= set(owners["role"])
    reps = owners.filter(pl.col("role") == "rep")
    managers = set(owners.filter(pl.col("role") == "manager")["owner_id"])
    assert set(reps["manager_id"]) <= managers
    assert (owners["capacity_per_day"] > 0).all()
    assert owners["email"].n_unique() == owners.height


def test_clean_config_has_no_imperfections() -> None:
    clean = generate(SimConfig(seed=5, accounts=2_000, imperfections=ImperfectionRates.none()))
    accounts = clean.accounts
    assert accounts.select(pl.col("industry", "owner_id", "segment", "domain").null_count()).row(
        0
    ) == (0, 0, 0, 0)
    assert accounts["industry"].is_in(sorted(INDUSTRIES)).all()
    assert clean.truth.duplicate_of == {}
    assert "prod-data-guard" not in set(clean.products["product_id"])
    assert clean.owners["active"].all()
