"""Message Batches and the account headers against the simulator, with the official SDK
(api/messages/batches*.md, build-with-claude/batch-processing.md, api/rate-limits.md,
api/overview.md)."""

import anthropic
import pytest

from tests.conftest import advance
from tests.helpers import SONNET_46, api_message, block

SHARED = [block(3000, "a shared contract", cache=True)]


def params(question: str, **kw) -> dict:
    return {
        "model": SONNET_46,
        "max_tokens": 50,
        "system": SHARED,
        "messages": [{"role": "user", "content": question}],
        **kw,
    }


def test_a_batch_runs_when_the_clock_moves_and_its_results_are_keyed_by_custom_id(sim, client):
    """batch-processing.md: create, retrieve (in_progress, then ended), results as JSON lines
    keyed by custom_id, in any order; caching inside a batch (the later request reads what the
    earlier one wrote), billed at the batch tier (``usage.service_tier: "batch"``)."""
    batch = client.messages.batches.create(
        requests=[
            {"custom_id": "first-1", "params": params("Who signs?")},
            {"custom_id": "second_2", "params": params("When does it end?")},
            {"custom_id": "bad", "params": params("x", model="claude-nonexistent")},
        ]
    )
    assert batch.processing_status == "in_progress" and batch.request_counts.processing == 3
    assert batch.id.startswith("msgbatch_")
    advance(sim, 61)
    done = client.messages.batches.retrieve(batch.id)
    assert done.processing_status == "ended" and done.ended_at is not None
    assert (done.request_counts.succeeded, done.request_counts.errored) == (2, 1)
    results = {r.custom_id: r.result for r in client.messages.batches.results(batch.id)}
    assert set(results) == {"first-1", "second_2", "bad"}
    first, second = results["first-1"].message.usage, results["second_2"].message.usage
    assert first.cache_creation_input_tokens >= 3000 and first.service_tier == "batch"
    assert second.cache_read_input_tokens == first.cache_creation_input_tokens
    assert results["bad"].type == "errored"
    listed = [b.id for b in client.messages.batches.list()]
    assert batch.id in listed


def test_a_canceled_batch_ends_with_its_requests_canceled(client):
    """api/messages/batches/cancel.md: canceling, then ended, unprocessed requests canceled."""
    batch = client.messages.batches.create(requests=[{"custom_id": "a", "params": params("hi")}])
    canceled = client.messages.batches.cancel(batch.id)
    assert canceled.processing_status == "ended" and canceled.cancel_initiated_at
    (line,) = list(client.messages.batches.results(batch.id))
    assert line.result.type == "canceled"
    client.messages.batches.delete(batch.id)
    with pytest.raises(anthropic.NotFoundError):
        client.messages.batches.retrieve(batch.id)


@pytest.mark.parametrize(
    ("requests", "named"),
    [
        ([{"custom_id": "has space", "params": params("hi")}], "custom_id"),
        ([{"custom_id": "x" * 65, "params": params("hi")}], "custom_id"),
        (
            [
                {"custom_id": "same", "params": params("a")},
                {"custom_id": "same", "params": params("b")},
            ],
            "unique",
        ),
        ([{"custom_id": "warm", "params": params("hi", max_tokens=0)}], "max_tokens"),
    ],
)
def test_batch_requests_the_api_refuses(client, requests, named):
    """api/messages/batches/create.md: ``custom_id`` matches ``^[a-zA-Z0-9_-]{1,64}$`` and is
    unique in its batch; ``max_tokens`` is at least 1 inside a batch."""
    with pytest.raises(anthropic.BadRequestError) as err:
        client.messages.batches.create(requests=requests)
    assert named in api_message(err)


def test_messages_responses_carry_rate_limit_organization_and_workspace_headers(client):
    """api/rate-limits.md, "Response headers" (``anthropic-ratelimit-*``, RFC 3339 resets) and
    api/overview.md (``anthropic-organization-id``, ``anthropic-workspace-id`` ``wrkspc_``)."""
    raw = client.messages.with_raw_response.create(
        model=SONNET_46, max_tokens=20, messages=[{"role": "user", "content": "hi"}]
    )
    headers = raw.headers
    assert headers["anthropic-workspace-id"].startswith("wrkspc_")
    assert headers["anthropic-organization-id"]
    for name in ("requests", "tokens", "input-tokens", "output-tokens"):
        limit = int(headers[f"anthropic-ratelimit-{name}-limit"])
        assert 0 <= int(headers[f"anthropic-ratelimit-{name}-remaining"]) <= limit
        assert headers[f"anthropic-ratelimit-{name}-reset"].endswith("Z")
    again = client.messages.with_raw_response.create(
        model=SONNET_46, max_tokens=20, messages=[{"role": "user", "content": "hi"}]
    ).headers
    assert int(again["anthropic-ratelimit-requests-remaining"]) < int(
        headers["anthropic-ratelimit-requests-remaining"]
    )
    other = anthropic.Anthropic(base_url=client.base_url, api_key="another-workspace")
    elsewhere = other.models.with_raw_response.list().headers
    assert elsewhere["anthropic-workspace-id"] != headers["anthropic-workspace-id"]
    other.close()
