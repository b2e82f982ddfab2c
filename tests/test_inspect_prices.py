"""What the inspector says another program's request cost, checked against genai-prices called
here on the usage the client itself received, and against pricing.md's multipliers:

- a request that compacted is billed for every iteration (compaction.md, "Understanding usage":
  "sum across all entries in the `usage.iterations` array"), and its read is the compaction
  iteration's, which read the request as sent (the reply read the summary);
- fast mode (``speed: "fast"``, fast-mode.md) at the library's fast prices, as the response's
  ``usage.speed`` says it ran; US-only inference (``inference_geo: "us"``) at 1.1x every token
  category (pricing.md, "Data residency pricing");
- the same key sent as ``x-api-key`` or as a bearer token is one program's session."""

from __future__ import annotations

import datetime as dt

import httpx2 as httpx
import pytest
from genai_prices import Usage, calc_price

from tests.helpers import SONNET_46, text_of
from tests.test_inspect import lines_of

KEY = "sk-ant-prices-0123456789"
HEADERS = {"anthropic-version": "2023-06-01", "x-api-key": KEY}


def library_usd(usage: dict, model: str, context: dict | None = None) -> float:
    """One usage (or iteration) priced by genai-prices, as the client's own books would."""
    made = usage.get("cache_creation") or {}
    five = made.get("ephemeral_5m_input_tokens", usage.get("cache_creation_input_tokens", 0))
    hour = made.get("ephemeral_1h_input_tokens", 0)
    read = usage.get("cache_read_input_tokens", 0)
    priced = calc_price(
        Usage(
            input_tokens=usage["input_tokens"] + read + five + hour,
            cache_read_tokens=read,
            cache_write_tokens=five + hour,
            cache_write_5m_tokens=five,
            cache_write_1h_tokens=hour,
            output_tokens=usage["output_tokens"],
        ),
        model,
        provider_id="anthropic",
        genai_request_timestamp=dt.datetime.now(dt.UTC),
        price_context=context,
    )
    return float(priced.total_price)


def post(server, body: dict, headers=HEADERS, beta: str = "") -> dict:
    sent = {**headers, **({"anthropic-beta": beta} if beta else {})}
    answer = httpx.post(f"{server.base_url}/v1/messages", json=body, headers=sent, timeout=60)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_compacting_request_is_billed_for_both_iterations_and_read_as_sent(inspector):
    """It was priced at its reply alone ($0.0009 for a $0.204 request), and the next compacting
    request's line said it read 4,878 of 72,382 predicted ("an eviction, or another client"):
    the reply's read of the summary, not the request's."""
    body = {
        "model": SONNET_46,
        "max_tokens": 50,
        "system": [{"type": "text", "text": "sys", "cache_control": {"type": "ephemeral"}}],
        "context_management": {
            "edits": [
                {"type": "compact_20260112", "trigger": {"type": "input_tokens", "value": 50000}}
            ]
        },
        "messages": [
            {
                "role": "user",
                "content": [
                    {
                        "type": "text",
                        "text": text_of(60_000, "a long paste"),
                        "cache_control": {"type": "ephemeral"},
                    }
                ],
            },
            {"role": "assistant", "content": "ok"},
            {"role": "user", "content": "summarise"},
        ],
    }
    usages = [post(inspector, body, beta="compact-2026-01-12")["usage"] for _ in range(2)]
    lines = lines_of(inspector, 2)
    for line, usage in zip(lines, usages, strict=True):
        iterations = usage["iterations"]
        assert [i["type"] for i in iterations] == ["compaction", "message"]
        billed = sum(library_usd(i, SONNET_46) for i in iterations)
        assert line.cost_usd == pytest.approx(billed, abs=2e-6)
        compaction = iterations[0]
        assert line.read == compaction["cache_read_input_tokens"]
        assert "compacted" in line.note
    assert lines[1].read > 60_000 and lines[1].read == lines[1].predicted_read
    assert lines[1].miss_reason == ""


def test_fast_mode_is_priced_at_fast_prices(inspector):
    """``speed: "fast"`` on Opus 5 was priced at standard rates: half of what the library says."""
    body = {
        "model": "claude-opus-5",
        "max_tokens": 40,
        "speed": "fast",
        "messages": [{"role": "user", "content": text_of(2_000, "question")}],
    }
    usage = post(inspector, body)["usage"]
    (line,) = lines_of(inspector, 1)
    assert usage["speed"] == "fast"
    fast = library_usd(usage, "claude-opus-5", {"speed": "fast"})
    assert fast == pytest.approx(2 * library_usd(usage, "claude-opus-5"), rel=1e-6)
    assert line.cost_usd == pytest.approx(fast, abs=2e-6)
    assert "fast mode" in line.note


def test_us_only_inference_costs_one_point_one_times(inspector):
    body = {
        "model": SONNET_46,
        "max_tokens": 40,
        "inference_geo": "us",
        "messages": [{"role": "user", "content": text_of(2_000, "question")}],
    }
    usage = post(inspector, body)["usage"]
    (line,) = lines_of(inspector, 1)
    assert line.cost_usd == pytest.approx(1.1 * library_usd(usage, SONNET_46), abs=2e-6)
    assert "US-only inference" in line.note


def test_the_same_key_as_a_bearer_token_is_the_same_session(inspector):
    """``x-api-key: K`` and ``Authorization: Bearer K`` were two sessions: the second request,
    which read what the first wrote, was predicted to read nothing."""
    body = {
        "model": SONNET_46,
        "max_tokens": 20,
        "system": [
            {
                "type": "text",
                "text": text_of(3_000, "contract"),
                "cache_control": {"type": "ephemeral"},
            }
        ],
        "messages": [{"role": "user", "content": "Who signs?"}],
    }
    post(inspector, body)
    bearer = {"anthropic-version": "2023-06-01", "authorization": f"Bearer {KEY}"}
    second = post(inspector, body, headers=bearer)["usage"]
    first_line, second_line = lines_of(inspector, 2)
    assert second["cache_read_input_tokens"] >= 3_000
    assert second_line.session == first_line.session
    assert second_line.predicted_read == second_line.read == second["cache_read_input_tokens"]


def test_a_cost_under_a_hundredth_of_a_cent_is_not_printed_as_nothing():
    """A 5-token Haiku turn printed "$0.0000", as if it were free."""
    from app.inspect.lines import Line

    tiny = Line("r1", 0.0, "claude-haiku-4-5", "turn", 0, 0, 0, 5, 0, "", "", 0.00003, "s1")
    assert "<$0.0001" in tiny.text() and "$0.0000" not in tiny.text()
