"""The session-replay benchmark's own guarantees: traces are checked, the virtual clock replays
hours in seconds without changing what the simulator bills, and the hindsight optimum is a lower
bound no policy beats on any shipped trace."""

import json
from pathlib import Path
from statistics import median

import pytest

from app.facts.catalogue import default_catalogue
from app.replay.following import following
from app.replay.optimum import token_cost
from app.replay.policies import POLICIES, TTL_CHOICES
from app.replay.runner import replay
from app.replay.tables import summary
from app.replay.trace import TraceError, load, parse

TRACES = Path(__file__).parent / "perf" / "traces"
SONNET = default_catalogue().require("claude-sonnet-4-6").prices


def test_every_shipped_trace_costs_every_policy_at_least_the_optimum_and_cachescope_wins():
    """And the targets of issue 35 (point 12) that Cachescope meets at a new install's
    settings, held here so that a change of the engine's decisions cannot lose them unseen: at
    most 0.65x the cheapest other program's dollars over the traces, no trace over 1.25x its
    hindsight optimum (its median wait, not met, is in docs/benchmarks.md), and no policy it
    could follow costing less while waiting no longer: another program's (no caching,
    automatic, lm-deluge's last user message) never; Cachescope with another TTL only in
    hindsight, by at most the premium its adaptive TTL paid for writing for an hour as
    insurance against a pause past five minutes that did not come."""
    traces = load(TRACES)
    assert len(traces) >= 8
    out = {}
    for trace in traces:
        entry, results = {"policies": {}}, {}
        for policy in [*POLICIES, *TTL_CHOICES]:
            result = results[policy] = replay(trace, policy)
            assert not result.failures, (trace.name, policy, result.failures)
            assert len(result.ttft_s) == trace.sends
            assert result.cost_usd >= result.optimum_usd * (1 - 1e-9), (trace.name, policy)
            if policy in POLICIES:
                entry["policies"][policy] = {"cost_usd": result.cost_usd, "ttft_s": result.ttft_s}
            entry["optimum_cost_usd"] = result.optimum_usd
        out[trace.name] = entry
        ours = results["cachescope"]
        for policy in ("none", "automatic", "last_user_message", *TTL_CHOICES):
            other = results[policy]
            assert following(policy, {}).followable
            waits_no_longer = median(other.ttft_s) <= median(ours.ttft_s) + 1e-9
            if not waits_no_longer or other.cost_usd >= ours.cost_usd:
                continue
            assert policy in TTL_CHOICES, (trace.name, policy)
            premium = ours.spending.premium_1h_usd
            assert ours.cost_usd - other.cost_usd <= premium + 1e-6, (trace.name, policy)
    found = summary(out, list(POLICIES))
    assert found["targets"]["cost_vs_cheapest_anchor"] <= 0.65, found["targets"]
    assert found["cachescope"]["max_over_optimum"] <= 1.25, found["cachescope"]


def test_a_long_pause_replays_in_simulated_time_and_the_cache_expires_in_it():
    trace = parse(
        {
            "name": "two-sends-an-hour-apart",
            "model": "claude-sonnet-4-6",
            "system_tokens": 5000,
            "events": [
                {"wait": 0, "do": "send", "tokens": 20, "reply_tokens": 100},
                {"wait": 3700, "do": "send", "tokens": 20, "reply_tokens": 100},
                {"wait": 0, "do": "close"},
            ],
        }
    )
    result = replay(trace, "automatic")
    assert result.simulated_s > 3700
    # Both sends wrote the whole prefix: the 5-minute entry was long gone after an hour.
    per_send_write = 5000 * SONNET.write_5m / 1e6
    assert result.cost_usd > 2 * per_send_write


@pytest.mark.parametrize(
    "times, expected",
    [
        ([0.0], SONNET.input),  # used once: paid in full, never written
        ([0.0, 60.0], SONNET.write_5m + SONNET.read),
        # 20 minutes apart: one ping within five minutes puts it in a 1h entry
        ([0.0, 1200.0], SONNET.write_5m + 2 * SONNET.read),
        # two hours apart: that ping and one an hour later still beat paying twice
        ([0.0, 7200.0], SONNET.write_5m + 3 * SONNET.read),
        # ten hours apart: paying in full twice is cheaper than ten pings
        ([0.0, 36000.0], 2 * SONNET.input),
    ],
)
def test_the_cheapest_history_of_one_token(times, expected):
    assert token_cost(times, [True] * len(times), SONNET) == pytest.approx(expected)


def test_under_the_minimum_a_token_can_only_be_paid_in_full():
    assert token_cost([0.0, 10.0], [False, False], SONNET) == pytest.approx(2 * SONNET.input)


@pytest.mark.parametrize(
    "event, message",
    [
        ({"do": "dance"}, "'do' must be one of"),
        ({"do": "send", "tokens": 5}, "reply_tokens must be a number"),
        ({"do": "attach"}, "attach needs document_tokens or image"),
        ({"do": "type", "seconds": -1}, "seconds must be a number >= 0"),
    ],
)
def test_a_bad_trace_is_refused_with_the_event_it_trips_on(event, message):
    data = {"name": "x", "model": "claude-sonnet-4-6", "events": [event]}
    with pytest.raises(TraceError, match=message):
        parse(data, "bad.json")


def test_a_folder_without_traces_or_with_broken_json_says_so(tmp_path):
    with pytest.raises(TraceError, match="no \\*.json traces"):
        load(tmp_path)
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(TraceError, match="broken.json"):
        load(tmp_path)
    (tmp_path / "broken.json").write_text(json.dumps({"name": "y", "model": "m", "events": []}))
    with pytest.raises(TraceError, match="sends nothing"):
        load(tmp_path)
