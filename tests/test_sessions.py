"""The session-replay benchmark's own guarantees: traces are checked, the virtual clock replays
hours in seconds without changing what the simulator bills, and the hindsight optimum is a lower
bound no policy beats on any shipped trace."""

import json
from pathlib import Path

import pytest

from app.facts.catalogue import default_catalogue
from app.replay.optimum import token_cost
from app.replay.policies import POLICIES
from app.replay.runner import replay
from app.replay.trace import TraceError, load, parse

TRACES = Path(__file__).parent / "perf" / "traces"
SONNET = default_catalogue().require("claude-sonnet-4-6").prices


def test_every_shipped_trace_costs_every_policy_at_least_the_optimum():
    traces = load(TRACES)
    assert len(traces) >= 8
    for trace in traces:
        for policy in POLICIES:
            result = replay(trace, policy)
            assert not result.failures, (trace.name, policy, result.failures)
            assert len(result.ttft_s) == trace.sends
            assert result.cost_usd >= result.optimum_usd * (1 - 1e-9), (trace.name, policy)


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
