"""Context editing and compaction against the simulator (build-with-claude/context-editing.md,
build-with-claude/compaction.md)."""

import anthropic
import pytest

from tests.helpers import HAIKU_45, SONNET_46, api_message, text_of

EDITING = ["context-management-2025-06-27"]
COMPACTING = ["compact-2026-01-12"]
TOOLS = [
    {
        "name": "read_file",
        "description": "Read a file.",
        "input_schema": {"type": "object", "properties": {"path": {"type": "string"}}},
    }
]


def tool_loop(uses: int, each: int = 8000, opening_cached: bool = True) -> list[dict]:
    """A user question (with a breakpoint), then ``uses`` tool calls with large results, the
    last result carrying a breakpoint."""
    opening = {"type": "text", "text": text_of(2000, "the task")}
    if opening_cached:
        opening["cache_control"] = {"type": "ephemeral"}
    messages = [{"role": "user", "content": [opening]}]
    for k in range(uses):
        messages.append(
            {
                "role": "assistant",
                "content": [
                    {
                        "type": "tool_use",
                        "id": f"toolu_{k}",
                        "name": "read_file",
                        "input": {"path": f"f{k}"},
                    }
                ],
            }
        )
        result = {
            "type": "tool_result",
            "tool_use_id": f"toolu_{k}",
            "content": text_of(each, f"file {k}"),
        }
        messages.append({"role": "user", "content": [result]})
    messages[-1]["content"][-1]["cache_control"] = {"type": "ephemeral"}
    return messages


CLEAR = {
    "edits": [
        {
            "type": "clear_tool_uses_20250919",
            "trigger": {"type": "input_tokens", "value": 30000},
            "keep": {"type": "tool_uses", "value": 3},
        }
    ]
}


def send(client, messages, betas=EDITING, **kw):
    return client.beta.messages.create(
        model=SONNET_46, max_tokens=50, tools=TOOLS, messages=messages, betas=betas, **kw
    )


def test_tool_result_clearing_clears_reports_and_invalidates_from_the_cleared_point(client):
    """context-editing.md: "the API automatically clears the oldest tool results [...] keep:
    3 tool uses"; the response reports ``applied_edits`` ("Context editing response"); and
    "Tool result clearing: Invalidates cached prompt prefixes when content is cleared": the
    next request reads what was written before the first cleared result, not after."""
    messages = tool_loop(5)
    before = send(client, messages).usage
    edited = send(client, messages, context_management=CLEAR)
    (applied,) = edited.context_management.applied_edits
    assert applied.type == "clear_tool_uses_20250919" and applied.cleared_tool_uses == 2
    assert applied.cleared_input_tokens > 2 * 7000
    total = before.input_tokens + before.cache_creation_input_tokens
    usage = edited.usage
    assert (
        usage.input_tokens + usage.cache_read_input_tokens + usage.cache_creation_input_tokens
        == (total - applied.cleared_input_tokens)
    )
    assert 2000 < usage.cache_read_input_tokens < 3000  # tools and the opening question only
    again = send(client, messages, context_management=CLEAR).usage
    assert (
        again.cache_read_input_tokens
        == usage.cache_read_input_tokens + usage.cache_creation_input_tokens
    )


def test_clear_at_least_and_exclude_tools_keep_what_they_name(client):
    """ "Configuration options for tool result clearing": under ``clear_at_least`` nothing is
    cleared; ``exclude_tools`` are never cleared."""
    messages = tool_loop(5)
    least = {
        "edits": [{**CLEAR["edits"][0], "clear_at_least": {"type": "input_tokens", "value": 10**6}}]
    }
    assert send(client, messages, context_management=least).context_management.applied_edits == []
    excluded = {"edits": [{**CLEAR["edits"][0], "exclude_tools": ["read_file"]}]}
    assert (
        send(client, messages, context_management=excluded).context_management.applied_edits == []
    )


def test_clear_thinking_listed_after_clear_tool_uses_is_refused(client):
    """ "Combining strategies": "the `clear_thinking_20251015` strategy must be listed first in
    the `edits` array"."""
    edits = {"edits": [CLEAR["edits"][0], {"type": "clear_thinking_20251015"}]}
    with pytest.raises(anthropic.BadRequestError) as err:
        send(client, tool_loop(1), context_management=edits)
    assert "must be listed first" in api_message(err)
    send(client, tool_loop(1), context_management={"edits": edits["edits"][::-1]})


def test_count_tokens_applies_context_management(client):
    """context-editing.md, "Token counting": ``input_tokens`` after clearing and
    ``context_management.original_input_tokens`` before."""
    messages = tool_loop(5)
    counted = client.beta.messages.count_tokens(
        model=SONNET_46, tools=TOOLS, messages=messages, betas=EDITING, context_management=CLEAR
    )
    plain = client.beta.messages.count_tokens(model=SONNET_46, tools=TOOLS, messages=messages)
    assert counted.context_management.original_input_tokens == plain.input_tokens
    assert counted.input_tokens < plain.input_tokens - 14000


def test_a_compaction_trigger_under_50000_is_refused(client):
    """compaction.md, "Parameters": the trigger's "`value` must be at least 50,000 tokens"."""
    edits = {
        "edits": [{"type": "compact_20260112", "trigger": {"type": "input_tokens", "value": 49999}}]
    }
    with pytest.raises(anthropic.BadRequestError) as err:
        send(client, tool_loop(1), betas=COMPACTING, context_management=edits)
    assert "50000" in api_message(err)


COMPACT = {
    "edits": [{"type": "compact_20260112", "trigger": {"type": "input_tokens", "value": 50000}}]
}


def test_usage_iterations_under_the_compaction_beta_and_a_compacted_conversation_goes_on(client):
    """compaction.md: "With the compaction beta enabled, every response includes
    `usage.iterations`, even if no compaction occurred"; when the prompt reaches the trigger the
    reply begins with a ``compaction`` block and a ``compaction`` iteration; "You must pass the
    `compaction` block back" and "the API automatically drops all content blocks prior to the
    `compaction` block": the next request is accepted and counts the summary, not the history."""
    short = send(client, tool_loop(1), betas=COMPACTING, context_management=COMPACT)
    assert [i.type for i in short.usage.iterations] == ["message"]
    assert short.usage.iterations[0].input_tokens == short.usage.input_tokens

    messages = tool_loop(7)  # about 58,000 tokens
    compacted = send(client, messages, betas=COMPACTING, context_management=COMPACT)
    assert compacted.content[0].type == "compaction" and compacted.content[0].content
    first, last = compacted.usage.iterations
    assert (first.type, last.type) == ("compaction", "message")
    read = first.input_tokens + first.cache_read_input_tokens + first.cache_creation_input_tokens
    assert read > 50000 and last.input_tokens < 1000
    assert compacted.usage.input_tokens + compacted.usage.cache_read_input_tokens < 1000

    follow = [*messages, {"role": "assistant", "content": [b.to_dict() for b in compacted.content]}]
    follow.append({"role": "user", "content": "Go on."})
    going = send(client, follow, betas=COMPACTING, context_management=COMPACT)
    assert going.content and going.content[0].type == "text"
    assert going.usage.input_tokens < 1500 and [i.type for i in going.usage.iterations] == [
        "message"
    ]


def test_the_compaction_iteration_reads_the_prompt_from_the_cache_where_it_is_cached(client):
    """The SDK's ``BetaCompactionIterationUsage`` (anthropic 2.17) carries its own
    ``cache_read_input_tokens`` and ``cache_creation_input_tokens``: the compaction iteration
    reads the prompt it summarizes as any request would, from the cache where an earlier
    request wrote it. Before, it reported the whole prompt as ``input_tokens``, so a compaction
    of a warm 58,000-token conversation was billed as if nothing were cached."""
    messages = tool_loop(7)
    warm = send(client, messages, betas=COMPACTING)  # writes the prefix at the last result
    assert warm.usage.cache_creation_input_tokens > 50000
    compacted = send(client, messages, betas=COMPACTING, context_management=COMPACT)
    first, last = compacted.usage.iterations
    assert first.type == "compaction"
    assert first.cache_read_input_tokens == warm.usage.cache_creation_input_tokens
    assert first.input_tokens == warm.usage.input_tokens and first.cache_creation_input_tokens == 0
    top = compacted.usage
    assert (last.input_tokens, last.cache_read_input_tokens) == (
        top.input_tokens,
        top.cache_read_input_tokens,
    )


def test_a_compaction_block_without_a_summary_is_a_no_op(client):
    """The SDK's ``BetaCompactionBlock``: "When content is None, it indicates the compaction
    failed [...] Clients may round-trip compaction blocks with null content; the server treats
    them as no-ops": the messages before it stay in the prompt."""
    messages = tool_loop(2, opening_cached=False)
    plain = client.messages.count_tokens(model=SONNET_46, tools=TOOLS, messages=messages)
    failed = {"type": "compaction", "content": None}
    messages[1]["content"].insert(0, failed)
    counted = client.beta.messages.count_tokens(
        model=SONNET_46, tools=TOOLS, messages=messages, betas=COMPACTING
    )
    assert counted.input_tokens >= plain.input_tokens > 16000


SYSTEM = [{"type": "text", "text": text_of(2000, "the rules")}]


def test_the_docs_streaming_example_sends_the_block_back_as_the_sdk_streamed_it(client):
    """compaction.md, "Streaming" (the Python example, as written: ``stream.get_final_message()``
    then ``messages.append({"role": "assistant", "content": message.content})``) and "Prompt
    caching" ("add a `cache_control` breakpoint on compaction blocks to cache the summarized
    content"). The SDK (2.17) streams the block with ``encrypted_content: null``, which it then
    sends back: the simulator refused it ("Extra inputs are not permitted"), and the summary the
    compacting request wrote at its automatic breakpoint was not read by the next request."""
    messages = tool_loop(7)
    events = []
    with client.beta.messages.stream(
        betas=COMPACTING,
        model=SONNET_46,
        max_tokens=50,
        system=SYSTEM,
        tools=TOOLS,
        messages=messages,
        cache_control={"type": "ephemeral"},
        context_management=COMPACT,
    ) as stream:
        for event in stream:
            if event.type == "content_block_start":
                events.append(event.content_block.type)
            elif event.type == "content_block_delta" and event.delta.type == "compaction_delta":
                events.append(len(event.delta.content or ""))
        message = stream.get_final_message()
    assert events[0] == "compaction" and events[1] > 0  # one delta with the whole summary
    messages.append({"role": "assistant", "content": message.content})
    messages.append({"role": "user", "content": "Now add error handling"})
    going = client.beta.messages.create(
        betas=COMPACTING,
        model=SONNET_46,
        max_tokens=50,
        system=SYSTEM,
        tools=TOOLS,
        messages=messages,
        cache_control={"type": "ephemeral"},
        context_management=COMPACT,
    )
    written = message.usage.cache_creation_input_tokens + message.usage.cache_read_input_tokens
    assert going.usage.cache_read_input_tokens == written > 2000  # to the summary
    assert [i.type for i in going.usage.iterations] == ["message"]


def thinking_loop(turns: int) -> list[dict]:
    """A question, then ``turns`` tool calls each after its thinking (a tool loop: no new user
    turn, so every model keeps the thinking in the prompt)."""
    messages = [{"role": "user", "content": "Read the files."}]
    for k in range(turns):
        thought = {"type": "thinking", "thinking": text_of(1500, f"plan {k}"), "signature": "s"}
        use = {"type": "tool_use", "id": f"toolu_{k}", "name": "read_file", "input": {"path": "f"}}
        messages.append({"role": "assistant", "content": [thought, use]})
        result = {"type": "tool_result", "tool_use_id": f"toolu_{k}", "content": "ok"}
        messages.append({"role": "user", "content": [result]})
    return messages


@pytest.mark.parametrize(("model", "kept"), [(SONNET_46, 3), (HAIKU_45, 1)])
def test_clear_thinking_without_keep_keeps_what_the_model_keeps_by_default(client, model, kept):
    """context-editing.md, "Default behavior" and the `keep` row of its options: Opus 4.5+ and
    Sonnet 4.6+ keep all prior thinking, earlier Opus and Sonnet and all Haiku the last turn's.
    The simulator kept only the last turn's on every model."""
    edits = {"edits": [{"type": "clear_thinking_20251015"}]}
    thinking = {"type": "enabled", "budget_tokens": 1024}
    counted = client.beta.messages.count_tokens(
        model=model,
        tools=TOOLS,
        messages=thinking_loop(3),
        betas=EDITING,
        context_management=edits,
        thinking=thinking,
    )
    dropped = counted.context_management.original_input_tokens - counted.input_tokens
    assert dropped == pytest.approx((3 - kept) * 1500, rel=0.05)
