"""Dollars per request and per conversation, from the price data file."""

import json

import pytest

from app.caching.costs import RequestRecord, UsageTotals, cost_of
from app.caching.ledger import Usage
from app.facts.catalogue import default_catalogue, load_catalogue, resources_dir


@pytest.mark.parametrize(
    ("model", "prices"),
    [  # the pricing table of prompt-caching.md: input, 5m write, 1h write, read, output
        ("claude-sonnet-4-5", (3.0, 3.75, 6.0, 0.30, 15.0)),
        ("claude-sonnet-5", (2.0, 2.50, 4.0, 0.20, 10.0)),
        ("claude-fable-5", (10.0, 12.50, 20.0, 1.0, 50.0)),
        ("claude-opus-4-8", (5.0, 6.25, 10.0, 0.50, 25.0)),
        ("claude-haiku-4-5", (1.0, 1.25, 2.0, 0.10, 5.0)),
    ],
)
def test_each_rate_is_the_models_own_price_from_the_docs_table(model, prices):
    info = default_catalogue().require(model)
    million = 1_000_000
    usages = (
        Usage(uncached=million),
        Usage(write_5m=million),
        Usage(write_1h=million),
        Usage(read=million),
        Usage(output=million),
    )
    assert tuple(cost_of(u, info).paid_usd for u in usages) == pytest.approx(prices)
    both = cost_of(Usage(read=million, output=1000), info)
    assert both.without_cache_usd == pytest.approx(prices[0] + prices[4] / 1000)
    assert both.saved_usd == pytest.approx(prices[0] - prices[3])


def test_cache_rates_are_not_one_multiple_for_every_model():
    """lm-deluge's table prices Opus 5.5's reads at 5% of its input, not 10%: data per model."""
    opus55 = default_catalogue().require("claude-opus-5-5")
    assert opus55.prices.read / opus55.prices.input == pytest.approx(0.05)


def test_a_model_without_known_prices_costs_unknown_not_zero():
    unknown = default_catalogue().require("claude-fable-5-2")
    cost = cost_of(Usage(read=5000, uncached=10, output=100), unknown)
    assert not cost.known and unknown.usable
    assert "prices unknown" in unknown.label


def test_totals_count_warms_as_cost_but_not_as_savings():
    cat = default_catalogue()
    haiku = cat.require("claude-haiku-4-5")
    totals = UsageTotals()
    for kind, usage in (
        ("warm", Usage(write_5m=10_000, output=1)),
        ("turn", Usage(read=10_000, uncached=100, output=50)),
    ):
        totals.add(RequestRecord(kind, usage, cost_of(usage, haiku), 0.0, haiku.id))
    # The turn read what its own warm-up had just written: paid for, so no hit (issue 26: a
    # first turn showed "Hit rate 100%" beside a negative saving).
    assert totals.hit_rate == 0.0
    turn_full = (10_100 * 1 + 50 * 5) / 1e6
    assert totals.without_cache_usd == pytest.approx(turn_full)
    assert totals.paid_usd == pytest.approx((12_500 + 5) / 1e6 + (1_000 + 100 + 250) / 1e6)
    assert totals.saved_usd == pytest.approx(turn_full - totals.paid_usd)


def test_prices_come_from_a_file_the_user_can_replace(tmp_path, monkeypatch):
    data = json.loads((resources_dir() / "models.json").read_text())
    data["models"][0]["prices"]["input"] = 99.0
    path = tmp_path / "models.json"
    path.write_text(json.dumps(data))
    monkeypatch.setenv("CACHESCOPE_MODELS_FILE", str(path))
    assert load_catalogue().models[0].prices.input == 99.0


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


def test_a_turn_that_reads_what_earlier_turns_wrote_is_a_hit():
    haiku = default_catalogue().require("claude-haiku-4-5")
    totals = UsageTotals()
    for kind, usage in (
        ("warm", Usage(write_5m=10_000, output=1)),
        ("turn", Usage(read=10_000, uncached=100, output=50)),
        ("turn", Usage(read=10_100, uncached=20, output=50)),  # no warm-up before it
    ):
        totals.add(RequestRecord(kind, usage, cost_of(usage, haiku), 0.0, haiku.id))
    assert totals.hit_rate == pytest.approx(10_100 / (10_100 + 10_120))
