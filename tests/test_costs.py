"""Dollars per request and per conversation, from the price data file."""

import json

import pytest

from app.caching.costs import RequestRecord, UsageTotals, cost_of
from app.caching.ledger import Usage
from app.facts.catalogue import default_catalogue, load_catalogue, resources_dir


def test_each_rate_uses_its_multiplier_on_the_models_base_price():
    cat = default_catalogue()
    sonnet = cat.require("claude-sonnet-4-5")  # $3 in, $15 out per million
    million = 1_000_000
    assert cost_of(Usage(uncached=million), sonnet, cat.multipliers).paid_usd == pytest.approx(3.0)
    assert cost_of(Usage(read=million), sonnet, cat.multipliers).paid_usd == pytest.approx(0.30)
    assert cost_of(Usage(write_5m=million), sonnet, cat.multipliers).paid_usd == pytest.approx(3.75)
    assert cost_of(Usage(write_1h=million), sonnet, cat.multipliers).paid_usd == pytest.approx(6.0)
    assert cost_of(Usage(output=million), sonnet, cat.multipliers).paid_usd == pytest.approx(15.0)
    both = cost_of(Usage(read=million, output=1000), sonnet, cat.multipliers)
    assert both.without_cache_usd == pytest.approx(3.0 + 0.015)
    assert both.saved_usd == pytest.approx(2.70)


def test_totals_count_warms_as_cost_but_not_as_savings():
    cat = default_catalogue()
    haiku = cat.require("claude-haiku-4-5")
    totals = UsageTotals()
    for kind, usage in (
        ("warm", Usage(write_5m=10_000, output=1)),
        ("turn", Usage(read=10_000, uncached=100, output=50)),
    ):
        totals.add(
            RequestRecord(kind, usage, cost_of(usage, haiku, cat.multipliers), 0.0, haiku.id)
        )
    assert totals.hit_rate == pytest.approx(10_000 / 10_100)
    turn_full = (10_100 * 1 + 50 * 5) / 1e6
    assert totals.without_cache_usd == pytest.approx(turn_full)
    assert totals.paid_usd == pytest.approx((12_500 + 5) / 1e6 + (1_000 + 100 + 250) / 1e6)
    assert totals.saved_usd == pytest.approx(turn_full - totals.paid_usd)


def test_prices_come_from_a_file_the_user_can_replace(tmp_path, monkeypatch):
    data = json.loads((resources_dir() / "models.json").read_text())
    data["models"][0]["input_usd_per_mtok"] = 99.0
    path = tmp_path / "models.json"
    path.write_text(json.dumps(data))
    monkeypatch.setenv("CACHESCOPE_MODELS_FILE", str(path))
    assert load_catalogue().models[0].input_usd_per_mtok == 99.0


def test_the_hindsight_bound_is_below_every_strategy(sim):
    from app.caching.strategies import STRATEGIES
    from tests.perf.cost import hindsight_bound, pauses, run

    steps = pauses()
    costs, bound = [], None
    for strategy in STRATEGIES:
        sent, dollars = run(steps, strategy, sim.base_url)
        bound = hindsight_bound(sent) if bound is None else bound
        costs.append(dollars)
    assert bound > 0 and all(bound <= c + 1e-12 for c in costs)
