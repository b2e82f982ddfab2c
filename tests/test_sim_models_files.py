"""Models, token counts, Files and fallback prices as the docs and the price library say them
(issue 39, "From the previous set" and "Fallback prices")."""

import datetime as dt

import anthropic
import pytest

from app.caching.costs import cost_of
from app.caching.ledger import Usage
from app.facts.catalogue import load_catalogue
from app.facts.prices import as_datetime, library_prices
from tests.conftest import advance
from tests.helpers import HAIKU_45, SONNET_46, api_message


def test_models_are_listed_newest_first_with_their_dates_models_overview(client):
    """models/overview.md lists models newest first and the API's ``created_at`` is a release
    date: no model is dated 1970 and listed last (Sonnet 5.5 and Mythos Preview were)."""
    listed = list(client.models.list(limit=1000))
    dates = [m.created_at for m in listed]
    assert dates == sorted(dates, reverse=True)
    assert all(d.year >= 2024 for d in dates), [(m.id, m.created_at) for m in listed]
    order = [m.id for m in listed]
    # Sonnet 5.5 between Opus 5.5 (22 Sep) and Haiku 5.5 (7 Oct); Mythos Preview in April 2026
    assert order.index("claude-haiku-5-5") < order.index("claude-sonnet-5-5")
    assert order.index("claude-sonnet-5-5") < order.index("claude-opus-5-5")
    preview = client.models.retrieve("claude-mythos-preview")
    assert preview.created_at.date() == dt.date(2026, 4, 7)
    assert order.index("claude-opus-4-7") < order.index("claude-mythos-preview")
    assert order.index("claude-mythos-preview") < order.index("claude-opus-4-6")


DOCS_THINKING_EXAMPLE = {
    "model": "claude-sonnet-4-6",
    "thinking": {"type": "enabled", "budget_tokens": 16000},
    "messages": [
        {
            "role": "user",
            "content": "Are there an infinite number of prime numbers such that n mod 4 == 3?",
        },
        {
            "role": "assistant",
            "content": [
                {
                    "type": "thinking",
                    "thinking": "This is a nice number theory question. Lets think about it step "
                    "by step...",
                    "signature": "EuYBCkQYAiJAgCs1le6/Pol5Z4/JMomVOouGrWdhYNsH3ukzUECbB6iWrSQ"
                    "tsQuRHJID6lWV...",
                },
                {
                    "type": "text",
                    "text": "Yes, there are infinitely many prime numbers p such that p mod 4 "
                    "= 3...",
                },
            ],
        },
        {"role": "user", "content": "Can you write a formal proof?"},
    ],
}


def test_count_tokens_docs_thinking_example_is_88(client):
    """token-counting.md, "Count tokens in messages with thinking": the example counts 88
    (the simulator said 56). Previous turns' thinking is not counted: a thinking ten times as
    long gives the same count; the rest is."""
    counted = client.messages.count_tokens(**DOCS_THINKING_EXAMPLE).input_tokens
    assert counted == 88
    longer = {
        **DOCS_THINKING_EXAMPLE,
        "messages": [dict(m) for m in DOCS_THINKING_EXAMPLE["messages"]],
    }
    thinking = dict(longer["messages"][1]["content"][0])
    thinking["thinking"] *= 10
    longer["messages"][1] = {
        "role": "assistant",
        "content": [thinking, longer["messages"][1]["content"][1]],
    }
    assert client.messages.count_tokens(**longer).input_tokens == counted
    longer["messages"][2] = {"role": "user", "content": "Can you write a formal proof? " * 4}
    assert client.messages.count_tokens(**longer).input_tokens > counted


def test_the_docs_thinking_example_bills_what_count_tokens_counts_where_thinking_is_dropped(
    client,
):
    """On a model that drops earlier turns' thinking (Haiku 4.5: thinking.md, "Thinking block
    preservation by model") the prompt sent is billed as count_tokens counts it."""
    body = {**DOCS_THINKING_EXAMPLE, "model": HAIKU_45}
    counted = client.messages.count_tokens(**body).input_tokens
    sent = client.messages.create(max_tokens=17000, **body)
    assert sent.usage.input_tokens == counted


def upload(client, expires=None):
    kw = {} if expires is None else {"expires_in_seconds": expires}
    return client.beta.files.upload(file=("notes.txt", b"hello " * 100, "text/plain"), **kw)


def test_files_expires_in_seconds_sets_expires_at_files_md_file_expiration(sim, client):
    """files.md, "File expiration": ``expires_at`` is the upload time plus
    ``expires_in_seconds`` (3,600 to 7,776,000), null without it; once it has passed, a
    Messages request that references the file fails before inference."""
    kept = upload(client)
    assert kept.expires_at is None
    meta = upload(client, 3600)
    assert meta.expires_at - meta.created_at == dt.timedelta(seconds=3600)
    assert client.beta.files.retrieve_metadata(meta.id).expires_at == meta.expires_at
    for bad in (3599, 7_776_001):
        with pytest.raises(anthropic.BadRequestError) as err:
            upload(client, bad)
        assert "expires_in_seconds" in api_message(err)
    message = {
        "role": "user",
        "content": [
            {"type": "document", "source": {"type": "file", "file_id": meta.id}},
            {"type": "text", "text": "Summarize."},
        ],
    }
    ok = client.beta.messages.create(
        model=SONNET_46, max_tokens=20, messages=[message], betas=["files-api-2025-04-14"]
    )
    assert ok.usage.input_tokens > 100
    advance(sim, 3600)
    with pytest.raises(anthropic.BadRequestError) as err:
        client.beta.messages.create(
            model=SONNET_46, max_tokens=20, messages=[message], betas=["files-api-2025-04-14"]
        )
    assert "expired" in api_message(err)
    listed = {f.id: f for f in client.beta.files.list()}
    assert meta.id in listed and kept.id in listed  # metadata stays readable for 30 days


def test_files_list_ids_is_mutually_exclusive_with_limit_api_files_list(client):
    """api/files/list.md: ``ids`` is "Mutually exclusive with `page` and `limit`"; at most 100."""
    first, second = upload(client), upload(client)
    listed = client.beta.files.list(ids=[first.id])
    assert [f.id for f in listed.data] == [first.id]
    with pytest.raises(anthropic.BadRequestError) as err:
        client.beta.files.list(ids=[first.id, second.id], limit=1)
    assert "mutually exclusive" in api_message(err)
    with pytest.raises(anthropic.BadRequestError):
        client.beta.files.list(ids=[f"file_{i}" for i in range(101)])


FILE = load_catalogue(library=False)  # models.json's own prices, the fallbacks


BOTH = [m for m in FILE.models if m.prices and library_prices(m.id, as_datetime(None))]


@pytest.mark.parametrize("model", BOTH, ids=[m.id for m in BOTH])
def test_fallback_prices_agree_with_genai_prices(model):
    """Every fallback price in models.json that genai-prices also lists is the library's (it
    cites platform.claude.com's pricing page): Sonnet 5.5 reads $0.10, not $0.20. (Mythos 5
    and 5.1, which the library lacks, keep the file's own source.)"""
    *rates, tier = library_prices(model.id, as_datetime(None))
    p = model.prices
    assert (p.input, p.write_5m, p.write_1h, p.read, p.output) == pytest.approx(tuple(rates))
    assert model.tier_start == tier


def test_fable_and_mythos_5_2_and_sonnet_5_5_have_fallback_prices():
    """Fable 5.2 and Mythos 5.2 had no price in models.json (unknown without the library)."""
    for name in ("claude-fable-5-2", "claude-mythos-5-2"):
        p = FILE.require(name).prices
        assert (p.input, p.write_5m, p.write_1h, p.read, p.output) == (8, 10, 16, 0.2, 40)
    assert FILE.require("claude-sonnet-5-5").prices.read == pytest.approx(0.10)


def test_haiku_5_5_fallback_tier_above_100k_prices_every_token_at_5x():
    """genai-prices' Haiku 5.5 entry: up to 100,000 prompt tokens at $0.10 / $0.50, every token
    of a longer request at 5x; reads and writes count toward the threshold. The file's fallback
    says the same, and the file-priced cost applies it like the library's."""
    haiku = FILE.require("claude-haiku-5-5")
    assert haiku.tier_start == 100_000 and haiku.tier_prices.input == 5 * haiku.prices.input
    short = Usage(uncached=50_000, read=50_000, output=1_000)
    long = Usage(uncached=50_000, read=50_001, output=1_000)
    assert cost_of(short, haiku).paid_usd == pytest.approx(
        (50_000 * 0.1 + 50_000 * 0.01 + 500) / 1e6
    )
    expected = 5 * (50_000 * 0.1 + 50_001 * 0.01 + 1_000 * 0.5) / 1e6
    assert cost_of(long, haiku).paid_usd == pytest.approx(expected)
    library = load_catalogue().require("claude-haiku-5-5")
    assert cost_of(long, library).paid_usd == pytest.approx(expected)
