"""Dollars per request and per conversation: from genai-prices (dated prices, tiers) where it
lists the model, else from the data file's fallback prices."""

import datetime
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
    tokens = 100_000  # under every tier (Sonnet 4.5's long-context prices start at 200,000)
    usages = (
        Usage(uncached=tokens),
        Usage(write_5m=tokens),
        Usage(write_1h=tokens),
        Usage(read=tokens),
        Usage(output=tokens),
    )
    per_million = tuple(cost_of(u, info).paid_usd * 10 for u in usages)
    assert per_million == pytest.approx(prices)
    both = cost_of(Usage(read=tokens, output=1000), info)
    assert both.without_cache_usd == pytest.approx((prices[0] + prices[4] / 100) / 10)
    assert both.saved_usd == pytest.approx((prices[0] - prices[3]) / 10)


def test_cache_rates_are_not_one_multiple_for_every_model():
    """lm-deluge's table prices Opus 5.5's reads at 5% of its input, not 10%: data per model."""
    opus55 = default_catalogue().require("claude-opus-5-5")
    assert opus55.prices.read / opus55.prices.input == pytest.approx(0.05)


def test_a_model_without_known_prices_costs_unknown_not_zero():
    listed = {"id": "claude-new-9", "display_name": "Claude New 9", "type": "model"}
    listed["created_at"] = "2026-12-01T00:00:00Z"
    unknown = default_catalogue().adopt([listed]).require("claude-new-9")  # known to neither
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


def test_the_file_prices_a_model_the_library_does_not_list(tmp_path, monkeypatch):
    data = json.loads((resources_dir() / "models.json").read_text())
    listed = data["models"][0]  # Opus 5.5: genai-prices lists it, so its file price is ignored
    listed["prices"]["input"] = 99.0
    extra = {
        **data["models"][1],
        "id": "claude-test-9",
        "aliases": [],
        "prices": {**listed["prices"]},
    }
    data["models"].append(extra)
    path = tmp_path / "models.json"
    path.write_text(json.dumps(data))
    monkeypatch.setenv("CACHESCOPE_MODELS_FILE", str(path))
    catalogue = load_catalogue()
    assert catalogue.require("claude-opus-5-5").prices.input == 4.0
    assert catalogue.require("claude-opus-5-5").price_source.startswith("genai-prices")
    assert catalogue.require("claude-test-9").prices.input == 99.0


# Issue 27: the prices the app showed against the published ones (genai-prices 0.2.3 agrees with
# the pricing page and release notes checked on 3 Dec 2026).
def test_sonnet_5_5_reads_cost_ten_cents_per_million():
    sonnet = default_catalogue().require("claude-sonnet-5-5")
    assert cost_of(Usage(read=1_000_000), sonnet).paid_usd == pytest.approx(0.10)


def test_haiku_5_5_charges_five_times_every_token_of_a_prompt_over_100k():
    haiku = default_catalogue().require("claude-haiku-5-5")
    assert haiku.tier_start == 100_000
    big = cost_of(Usage(uncached=150_000, output=1000), haiku)
    small = cost_of(Usage(uncached=50_000, output=1000), haiku)
    assert big.paid_usd == pytest.approx(0.0775)  # it was shown as $0.0155
    assert small.paid_usd == pytest.approx(0.0055)
    # Reads and writes count toward the threshold, and are charged the tier's price too.
    mixed = cost_of(Usage(read=90_000, uncached=20_000), haiku)
    assert mixed.paid_usd == pytest.approx((90_000 * 0.05 + 20_000 * 0.5) / 1e6)


@pytest.mark.parametrize("model", ["claude-fable-5-2", "claude-mythos-5-2"])
def test_the_5_2_generation_has_its_published_prices(model):
    info = default_catalogue().require(model)
    assert (info.prices.input, info.prices.output, info.prices.read) == (8.0, 40.0, 0.2)
    assert (info.prices.write_5m, info.prices.write_1h) == (10.0, 16.0)
    assert "prices unknown" not in info.label


def test_mythos_5_1_falls_back_to_the_file_with_its_source():
    info = default_catalogue().require("claude-mythos-5-1")
    assert (info.prices.input, info.prices.output, info.prices.read) == (10.0, 50.0, 0.25)
    assert "fallback" in info.price_source and "pricing page" in info.price_source


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


def test_lifecycles_follow_the_clock_and_the_newest_models_come_first():
    """Issue 27: retired, deprecated and release dates as the pages of 3 Dec 2026 give them."""
    from app.facts.catalogue import lifecycle_on

    catalogue = default_catalogue()
    sonnet45 = catalogue.require("claude-sonnet-4-5")
    assert sonnet45.retired and sonnet45.successor == "claude-sonnet-4-6"
    opus45 = catalogue.require("claude-opus-4-5")
    today = datetime.date.today().isoformat()
    assert opus45.retires_at == "2027-01-22"
    assert opus45.lifecycle == ("deprecated" if today < "2027-01-22" else "retired")
    raw = {
        "id": "x",
        "lifecycle": "active",
        "deprecated_at": "2026-11-23",
        "retires_at": "2027-01-22",
    }
    assert [lifecycle_on(raw, day) for day in ("2026-11-22", "2026-11-23", "2027-01-22")] == [
        "active",
        "deprecated",
        "retired",
    ]
    dates = [m.created_at for m in catalogue.models]
    assert dates == sorted(dates, reverse=True)
    assert catalogue.models[0].id in ("claude-fable-5-2", "claude-mythos-5-2")
    for model in ("claude-opus-5-5", "claude-haiku-5-5"):
        assert catalogue.require(model).effort.default == "medium"


def test_the_simulator_answers_a_retired_model_with_404(client):
    import anthropic

    with pytest.raises(anthropic.NotFoundError):
        client.messages.create(
            model="claude-sonnet-4-5-20250929",
            max_tokens=10,
            messages=[{"role": "user", "content": "hi"}],
        )
