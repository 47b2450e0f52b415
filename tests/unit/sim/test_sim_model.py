from __future__ import annotations

from datetime import date

import pydantic
import pytest

import nextmove.sim as sim
from nextmove.sim import ImperfectionRates, SimAction, SimConfig


def test_public_names_are_exported() -> None:
    assert sorted(sim.__all__) == sorted(set(sim.__all__))
    for name in sim.__all__:
        assert hasattr(sim, name), name


def test_defaults_describe_a_quarter_of_history() -> None:
    config = SimConfig()
    assert config.accounts == 10_000
    assert config.start == date(2026, 8, 25)
    assert config.history_days == 90
    assert config.as_of == date(2026, 11, 22)
    assert config.change_day == 60
    assert config.signal_count == 120_000


def test_total_signals_overrides_the_per_account_mean() -> None:
    assert SimConfig(accounts=100, signals_per_account=3).signal_count == 300
    assert SimConfig(accounts=100, total_signals=7).signal_count == 7


def test_config_is_frozen_and_strict() -> None:
    config = SimConfig()
    with pytest.raises(pydantic.ValidationError):
        config.seed = 3  # type: ignore[misc]
    with pytest.raises(pydantic.ValidationError):
        SimConfig(acounts=5)  # type: ignore[call-arg]
    with pytest.raises(pydantic.ValidationError):
        ImperfectionRates(missing_industry=1.5)


def test_clean_rates_switch_every_imperfection_off() -> None:
    clean = ImperfectionRates.none()
    assert clean.duplicate_products is False
    rates = clean.model_dump(exclude={"duplicate_products"})
    assert all(value == 0 for value in rates.values())


def test_action_rejects_unknown_motion() -> None:
    with pytest.raises(pydantic.ValidationError):
        SimAction(account_id="acct-000001", motion="carrier_pigeon", day=date(2026, 11, 22))
