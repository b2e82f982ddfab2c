"""The worked examples of Anthropic's documentation, run against the simulator with the SDK.

Each test is named after the example it reproduces; the page is in its docstring (pages of the
archived platform docs, llms-txt-archive/anthropic-platform, docs/en/...).
"""

import anthropic
import pytest

from tests.conftest import advance
from tests.helpers import (
    HAIKU_45,
    SONNET_46,
    api_message,
    block,
    blocks_message,
    prefix_tokens,
    text_of,
)

EACH = 300  # tokens per numbered block


def send(client, messages, model=SONNET_46, **kw):
    kw.setdefault("max_tokens", 50)
    return client.messages.create(model=model, messages=messages, **kw).usage


def test_lookback_in_a_growing_conversation(client):
    """prompt-caching.md, "Example: Lookback in a growing conversation"."""
    turn1 = send(client, [blocks_message(10, EACH, marks={10: None})])
    assert (turn1.cache_read_input_tokens, turn1.cache_creation_input_tokens) == (
        0,
        prefix_tokens(10, EACH),
    )
    # Turn 2: 15 blocks; block 15 has no entry, the walk back finds turn 1's at block 10.
    turn2 = send(client, [blocks_message(15, EACH, marks={15: None})])
    assert turn2.cache_read_input_tokens == prefix_tokens(10, EACH)
    assert turn2.cache_creation_input_tokens == 5 * EACH
    # Turn 3: 35 blocks; positions 35..16 hold nothing, the entry at 15 is one outside.
    turn3 = send(client, [blocks_message(35, EACH, marks={35: None})])
    assert turn3.cache_read_input_tokens == 0
    assert turn3.cache_creation_input_tokens == prefix_tokens(35, EACH)


def test_lookback_a_second_breakpoint_at_block_15_finds_the_turn_2_entry(client):
    """prompt-caching.md, same example: "Adding a second breakpoint at block 15 starts a second
    lookback window there, which finds the turn-2 entry"."""
    send(client, [blocks_message(10, EACH, marks={10: None})])
    send(client, [blocks_message(15, EACH, marks={15: None})])
    turn3 = send(client, [blocks_message(35, EACH, marks={15: None, 35: None})])
    assert turn3.cache_read_input_tokens == prefix_tokens(15, EACH)
    assert turn3.cache_creation_input_tokens == 20 * EACH


def timestamped(stamp: str, mark_static: bool) -> list[dict]:
    """Five static system blocks, then a user block holding a timestamp and the question."""
    static = [block(EACH, f"context {k}") for k in range(1, 6)]
    if mark_static:
        static[-1] = block(EACH, "context 5", cache=True)
    varying = {"type": "text", "text": f"[{stamp}] What changed today?"}
    if not mark_static:
        varying["cache_control"] = {"type": "ephemeral"}
    return static, [{"role": "user", "content": [varying]}]


def test_common_mistake_breakpoint_on_content_that_changes_every_request(client):
    """prompt-caching.md, "Common mistake: Breakpoint on content that changes every request":
    a write every request, never a read."""
    for stamp in ("2026-11-23T10:00:00", "2026-11-23T10:00:07", "2026-11-23T10:00:13"):
        system, messages = timestamped(stamp, mark_static=False)
        usage = send(client, messages, system=system)
        assert usage.cache_read_input_tokens == 0
        assert usage.cache_creation_input_tokens >= 5 * EACH


def test_common_mistake_fixed_by_moving_the_breakpoint_to_block_5(client):
    """The same page: "Move cache_control to block 5, the last block that stays the same"."""
    system, messages = timestamped("2026-11-23T10:00:00", mark_static=True)
    first = send(client, messages, system=system)
    system, messages = timestamped("2026-11-23T10:00:07", mark_static=True)
    second = send(client, messages, system=system)
    assert first.cache_creation_input_tokens == 5 * EACH
    assert (second.cache_read_input_tokens, second.cache_creation_input_tokens) == (5 * EACH, 0)


def test_automatic_caching_in_multi_turn_conversations(client):
    """prompt-caching.md, "How automatic caching works in multi-turn conversations": each
    request reads through the previous user turn and writes the new assistant and user turns."""
    system = block(1500, "system")["text"]
    auto = {"type": "ephemeral"}
    history = [{"role": "user", "content": "User(1)"}, {"role": "assistant", "content": "Asst(1)"}]
    request1 = [*history, {"role": "user", "content": "User(2)"}]
    first = send(client, request1, system=system, cache_control=auto)
    assert first.cache_read_input_tokens == 0 and first.input_tokens == 0
    written_1 = first.cache_creation_input_tokens
    request2 = [
        *request1,
        {"role": "assistant", "content": "Asst(2)"},
        {"role": "user", "content": "User(3)"},
    ]
    second = send(client, request2, system=system, cache_control=auto)
    assert second.cache_read_input_tokens == written_1
    assert second.cache_creation_input_tokens > 0 and second.input_tokens == 0
    request3 = [
        *request2,
        {"role": "assistant", "content": "Asst(3)"},
        {"role": "user", "content": "User(4)"},
    ]
    third = send(client, request3, system=system, cache_control=auto)
    assert third.cache_read_input_tokens == written_1 + second.cache_creation_input_tokens


def test_mixing_ttls_charges_a_then_b_minus_a_at_1h_then_c_minus_b_at_5m(client):
    """prompt-caching.md, "Mixing different TTLs": A the hit, B the last 1h breakpoint after it,
    C the last breakpoint."""
    marks = {4: "1h", 8: "1h", 12: "5m"}
    first = send(client, [blocks_message(12, EACH, marks=marks)])
    assert first.cache_creation.ephemeral_1h_input_tokens == prefix_tokens(8, EACH)  # B - 0
    assert first.cache_creation.ephemeral_5m_input_tokens == 4 * EACH  # C - B
    second = send(client, [blocks_message(12, EACH, marks=marks, changed={6})])
    assert second.cache_read_input_tokens == prefix_tokens(4, EACH)  # A
    assert second.cache_creation.ephemeral_1h_input_tokens == 4 * EACH  # B - A
    assert second.cache_creation.ephemeral_5m_input_tokens == 4 * EACH  # C - B


def test_cache_lifetime_is_measured_from_the_start_of_the_request(sim, client):
    """prompt-caching.md, "When does the cache lifetime start?": an entry written by a request
    lives 5 minutes from that request's start, not from the end of its response."""
    msgs = [{"role": "user", "content": [block(3000, cache=True)]}]
    send(client, msgs)
    advance(sim, 299.5)
    assert send(client, msgs).cache_read_input_tokens == 3004
    advance(sim, 300.2)  # 300.2 s after the read's start
    assert send(client, msgs).cache_read_input_tokens == 0


def test_pre_warming_the_cache_with_max_tokens_0(client):
    """prompt-caching.md, "Pre-warming the cache": empty content, stop_reason max_tokens, a
    populated usage, zero output; the follow-up reads what the pre-warm wrote."""
    system = [block(3000, "You are a contract analyst.", cache=True)]
    warm = client.messages.create(
        model=SONNET_46,
        max_tokens=0,
        system=system,
        messages=[{"role": "user", "content": "warmup"}],
    )
    assert warm.content == [] and warm.stop_reason == "max_tokens"
    assert warm.usage.output_tokens == 0 and warm.usage.cache_creation_input_tokens == 3000
    follow = send(client, [{"role": "user", "content": "Summarise clause 4."}], system=system)
    assert follow.cache_read_input_tokens == 3000


@pytest.mark.parametrize(
    ("extra", "what"),
    [
        ({"stream": True}, "stream"),
        ({"thinking": {"type": "enabled", "budget_tokens": 2000}}, "extended thinking"),
        (
            {"output_config": {"format": {"type": "json_schema", "schema": {"type": "object"}}}},
            "structured outputs",
        ),
        ({"tool_choice": {"type": "any"}}, "tool_choice"),
    ],
)
def test_pre_warming_limitations_are_refused(client, extra, what):
    """prompt-caching.md, "Limitations": each implies output a zero budget cannot produce."""
    kw = {
        "model": SONNET_46,
        "max_tokens": 0,
        "messages": [{"role": "user", "content": "warmup"}],
        **extra,
    }
    if "tool_choice" in extra:
        kw["tools"] = [{"name": "t", "input_schema": {"type": "object"}}]
    stream = kw.pop("stream", False)
    with pytest.raises(anthropic.BadRequestError) as err:
        if stream:
            with client.messages.stream(**kw) as s:
                s.get_final_message()
        else:
            client.messages.create(**kw)
    assert "max_tokens: 0" in api_message(err) and what in api_message(err)


def test_large_context_caching_example(client):
    """prompt-caching.md, "Large context caching example": the system prompt with the document
    is written by the first request and read by the next; input_tokens is the question."""
    system = [
        {"type": "text", "text": "You analyse legal agreements."},
        block(6000, "the full text of the agreement", cache=True),
    ]
    first = send(client, [{"role": "user", "content": "What are the key terms?"}], system=system)
    second = send(client, [{"role": "user", "content": "Who are the parties?"}], system=system)
    assert first.cache_creation_input_tokens == second.cache_read_input_tokens > 6000
    assert first.cache_read_input_tokens == 0 and second.cache_creation_input_tokens == 0
    assert second.input_tokens == first.input_tokens - 1  # only the question, uncached


def thinking_conversation(final_user: str):
    """The thinking-with-tool-use example of prompt-caching.md ("Caching with thinking blocks")."""
    thinking1 = {
        "type": "thinking",
        "thinking": "I should look the weather up. " * 60,
        "signature": "s1",
    }
    thinking2 = {"type": "thinking", "thinking": "Sunny, 21 degrees. " * 60, "signature": "s2"}
    tool = {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Paris"}}
    result = {
        "type": "tool_result",
        "tool_use_id": "toolu_1",
        "content": "21C, sunny",
        "cache_control": {"type": "ephemeral"},
    }
    messages = [
        {"role": "user", "content": [block(1500, "What's the weather in Paris?")]},
        {"role": "assistant", "content": [thinking1, tool]},
        {"role": "user", "content": [result]},
    ]
    request2 = list(messages)
    request3 = [
        *messages,
        {"role": "assistant", "content": [thinking2, {"type": "text", "text": "It is sunny."}]},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": final_user, "cache_control": {"type": "ephemeral"}}
            ],
        },
    ]
    return request2, request3


WEATHER = [
    {
        "name": "weather",
        "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
    }
]


@pytest.mark.parametrize(
    ("model", "kept"),
    # (Sonnet 4.5, which also stripped, retired on 30 Nov 2026, and Opus 4.5 retires on 22 Jan
    # 2027: the API refuses retired models, so the test names ones that stay.)
    [(HAIKU_45, False), ("claude-opus-4-6", True), (SONNET_46, True)],
)
def test_caching_with_thinking_blocks_stripped_after_a_non_tool_result_user_turn(
    client, model, kept
):
    """prompt-caching.md, "Caching with thinking blocks", and thinking.md ("Thinking block
    preservation by model"): on earlier Opus/Sonnet and all Haiku a text user turn strips the
    earlier thinking, so the cache breaks at the first thinking block; Opus 4.5+ and Sonnet 4.6+
    keep it."""
    request2, request3 = thinking_conversation("Thanks, and tomorrow?")
    kw = {
        "tools": WEATHER,
        "thinking": {"type": "enabled", "budget_tokens": 1024},
        "max_tokens": 2000,
    }
    if model in (HAIKU_45, "claude-opus-4-6"):  # over their 4,096 minimum
        request2[0] = {"role": "user", "content": [block(4500, "What's the weather in Paris?")]}
        request3[0] = request2[0]
    second = send(client, request2, model=model, **kw)
    third = send(client, request3, model=model, **kw)
    assert second.cache_creation_input_tokens > 0
    if kept:
        assert third.cache_read_input_tokens == second.cache_creation_input_tokens
    else:
        assert third.cache_read_input_tokens == 0


def test_count_tokens_ignores_previous_turns_thinking(client):
    """token-counting.md, "Count tokens in messages with thinking": previous assistant turns'
    thinking does not count; the current turn's does."""
    _, request3 = thinking_conversation("Thanks, and tomorrow?")
    without = [
        {**m, "content": [b for b in m["content"] if b.get("type") != "thinking"]}
        if m["role"] == "assistant"
        else m
        for m in request3
    ]
    kw = {
        "model": SONNET_46,
        "tools": WEATHER,
        "thinking": {"type": "enabled", "budget_tokens": 1024},
    }
    counted = client.messages.count_tokens(messages=request3, **kw).input_tokens
    assert counted == client.messages.count_tokens(messages=without, **kw).input_tokens
    request2, _ = thinking_conversation("")
    in_turn = client.messages.count_tokens(messages=request2, **kw).input_tokens
    stripped2 = [
        request2[0],
        {"role": "assistant", "content": [request2[1]["content"][1]]},
        request2[2],
    ]
    assert in_turn > client.messages.count_tokens(messages=stripped2, **kw).input_tokens


def test_effort_changes_invalidate_the_prompt_cache(client):
    """thinking-steering-and-cost.md, "Effort changes invalidate the prompt cache": same
    configuration hits; a different effort writes again; explicit default = omitted."""
    messages = [{"role": "user", "content": [block(3500, "a long task", cache=True)]}]
    first = send(client, messages, model="claude-opus-4-8")
    same = send(client, messages, model="claude-opus-4-8", output_config={"effort": "high"})
    other = send(client, messages, model="claude-opus-4-8", output_config={"effort": "medium"})
    assert first.cache_creation_input_tokens == same.cache_read_input_tokens > 3500
    assert (other.cache_read_input_tokens, other.cache_creation_input_tokens) == (
        0,
        first.cache_creation_input_tokens,
    )


def test_thinking_parameters_invalidate_messages_but_the_default_equals_omitting(client):
    """prompt-caching.md, "What invalidates the cache" (thinking parameters): Opus 5 thinks
    adaptively by default, so sending {"type": "adaptive"} is the same prompt."""
    messages = [{"role": "user", "content": [block(1500, "question", cache=True)]}]
    first = send(client, messages, model="claude-opus-5")
    explicit = send(client, messages, model="claude-opus-5", thinking={"type": "adaptive"})
    disabled = send(client, messages, model="claude-opus-5", thinking={"type": "disabled"})
    assert explicit.cache_read_input_tokens == first.cache_creation_input_tokens > 0
    assert disabled.cache_read_input_tokens == 0


def test_mid_conversation_system_message_keeps_the_cached_prefix(client):
    """mid-conversation-system-messages.md, "Combining with prompt caching": appending a
    system message after the cached turns still reads them."""
    model = "claude-opus-5"
    base = [
        {"role": "user", "content": [block(1200, "a long session", cache=True)]},
        {"role": "assistant", "content": "Done."},
        {"role": "user", "content": "Next step?"},
    ]
    first = send(client, base, model=model, system="You are a careful engineer.")
    second = send(
        client,
        [*base, {"role": "system", "content": "From now on, write SQL as parameterized queries."}],
        model=model,
        system="You are a careful engineer.",
    )
    assert second.cache_read_input_tokens == first.cache_creation_input_tokens > 0


@pytest.mark.parametrize(
    ("model", "messages", "fragment"),
    [
        (
            "claude-sonnet-5",
            [{"role": "user", "content": "hi"}, {"role": "system", "content": "x"}],
            "not supported",
        ),
        (
            "claude-opus-5",
            [{"role": "system", "content": "x"}, {"role": "user", "content": "hi"}],
            "first",
        ),
        (
            "claude-opus-5",
            [
                {"role": "user", "content": "hi"},
                {
                    "role": "assistant",
                    "content": [{"type": "tool_use", "id": "t1", "name": "t", "input": {}}],
                },
                {"role": "system", "content": "x"},
                {
                    "role": "user",
                    "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "1"}],
                },
            ],
            "follow a user turn",
        ),
        (
            "claude-opus-5",
            [
                {"role": "user", "content": "hi"},
                {"role": "system", "content": "x"},
                {"role": "user", "content": "again"},
            ],
            "followed by an assistant turn",
        ),
    ],
)
def test_mid_conversation_system_message_placement_limitations(client, model, messages, fragment):
    """mid-conversation-system-messages.md, "Limitations": not first, after a user turn, before an
    assistant turn or last, never between a tool_use and its tool_result; 400 on Sonnet 5."""
    tools = [{"name": "t", "input_schema": {"type": "object"}}]
    with pytest.raises(anthropic.BadRequestError) as err:
        client.messages.create(model=model, max_tokens=20, messages=messages, tools=tools)
    assert fragment in api_message(err)


def test_deferred_tools_stay_out_of_the_cached_prefix_and_cannot_carry_a_breakpoint(client):
    """tool-reference.md: "Tools with `defer_loading: true` are stripped from the rendered tools
    section before the cache key is computed ... You can add deferred tools to a request without
    invalidating an existing cache entry." tool-search-tool.md: a deferred tool with
    cache_control is a 400."""
    cc = {"type": "ephemeral"}
    hi = [{"role": "user", "content": "hi"}]
    system = [{"type": "text", "text": text_of(3000, "rules"), "cache_control": cc}]
    weather = WEATHER[0]
    deferred = {**weather, "name": "forecast", "defer_loading": True}
    first = send(client, hi, system=system, tools=[weather])
    second = send(client, hi, system=system, tools=[weather, deferred])
    assert first.cache_creation_input_tokens > 3000
    assert second.cache_read_input_tokens == first.cache_creation_input_tokens
    assert second.input_tokens == first.input_tokens  # the deferred definition costs nothing yet
    with pytest.raises(anthropic.BadRequestError, match="defer_loading cannot carry"):
        send(client, hi, system=system, tools=[weather, {**deferred, "cache_control": cc}])


SEARCH_TOOL = {"type": "web_search_20250305", "name": "web_search", "max_uses": 3}


@pytest.mark.parametrize("ttl", ["5m", "1h"])
def test_server_tool_results_are_cached_automatically(client, ttl):
    """tool-use-with-prompt-caching.md, "Server tool results are cached automatically": with a
    cache_control marker, the search result gets a breakpoint with the 5-minute TTL (5m writes
    even when every marker says 1h), and the next turn reads through it."""
    system = [block(2000, "a research assistant's instructions", cache=True, ttl=ttl)]
    question = [{"role": "user", "content": "Search for the tallest building in Oslo"}]
    first = client.messages.create(
        model=SONNET_46, max_tokens=200, system=system, tools=[SEARCH_TOOL], messages=question
    )
    results = first.usage.cache_creation.ephemeral_5m_input_tokens
    if ttl == "1h":
        assert first.usage.cache_creation.ephemeral_1h_input_tokens > 2000
    assert results > 0 and first.usage.server_tool_use.web_search_requests == 1
    follow = [
        *question,
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
        {"role": "user", "content": [{"type": "text", "text": "And in Bergen?"}]},
    ]
    follow[-1]["content"][-1]["cache_control"] = {"type": "ephemeral", "ttl": ttl}
    second = send(client, follow, system=system, tools=[SEARCH_TOOL])
    written = first.usage.cache_creation_input_tokens
    assert second.cache_read_input_tokens > written  # the prefix through the search result


def test_server_tool_results_get_no_breakpoint_without_prompt_caching(client):
    """Same page: "Requests without prompt caching do not receive the automatic breakpoint"."""
    usage = send(
        client,
        [{"role": "user", "content": "Search for the tallest building in Oslo"}],
        tools=[SEARCH_TOOL],
    )
    assert usage.cache_creation_input_tokens == 0 and usage.server_tool_use.web_search_requests


def test_count_tokens_with_tools_example(client):
    """token-counting.md, "Count tokens in messages with tools": 403 tokens on Claude Opus 5.
    The tool-use system prompt is the model's own count (286, pricing.md), which the 4.7
    tokenizer's 1.3 factor does not scale again; the rest is the estimate (within 5%)."""
    tool = {
        "name": "get_weather",
        "description": "Get the current weather in a given location",
        "input_schema": {
            "type": "object",
            "properties": {
                "location": {
                    "type": "string",
                    "description": "The city and state, e.g. San Francisco, CA",
                }
            },
            "required": ["location"],
        },
    }
    counted = client.messages.count_tokens(
        model="claude-opus-5",
        tools=[tool],
        messages=[{"role": "user", "content": "What's the weather like in San Francisco?"}],
    ).input_tokens
    assert abs(counted - 403) <= 0.05 * 403, counted


def test_concurrent_requests_miss_until_the_first_response_begins(sim):
    """prompt-caching.md: "a cache entry only becomes available after the first response
    begins. If you need cache hits for parallel requests, wait for the first response before
    sending subsequent requests." Four requests sent together on the instant simulator all
    write; one sent after them reads."""
    import asyncio

    system = [block(3000, "the shared document", cache=True)]

    async def run() -> list:
        async with anthropic.AsyncAnthropic(
            base_url=sim.base_url, api_key="test-key", max_retries=0
        ) as c:

            async def one(i: int):
                reply = await c.messages.create(
                    model=SONNET_46,
                    max_tokens=5,
                    system=system,
                    messages=[{"role": "user", "content": f"question {i}"}],
                )
                return reply.usage

            together = await asyncio.gather(*(one(i) for i in range(4)))
            return [*together, await one(5)]

    usages = asyncio.run(run())
    assert [u.cache_read_input_tokens for u in usages[:4]] == [0, 0, 0, 0]
    assert usages[4].cache_read_input_tokens == usages[0].cache_creation_input_tokens >= 3000


def test_compaction_complete_example_of_a_long_running_conversation(client):
    """compaction.md, "Examples": "a complete example of a long-running conversation with
    compaction", the Python code as the page writes it (``chat()``, trigger 100,000 on
    claude-opus-5), with long user messages so that the third call crosses the trigger. The
    compacted response's text is found, the compaction block goes back with the messages, and
    the conversation goes on from the summary."""
    messages: list[dict] = []
    usages = []

    def chat(user_message: str) -> str:
        messages.append({"role": "user", "content": user_message})

        response = client.beta.messages.create(
            betas=["compact-2026-01-12"],
            model="claude-opus-5",
            max_tokens=4096,
            messages=messages,
            context_management={
                "edits": [
                    {
                        "type": "compact_20260112",
                        "trigger": {"type": "input_tokens", "value": 100000},
                    }
                ]
            },
        )
        usages.append(response.usage)

        # Append response (compaction blocks are automatically included)
        messages.append({"role": "assistant", "content": response.content})

        # Return the text content
        return next(block.text for block in response.content if block.type == "text")

    # (Opus 5's tokenizer counts about 1.3 of the estimator's tokens: 30,000 are about 39,000)
    assert chat("Help me build a Python web scraper. " + text_of(30_000, "spec"))
    assert chat("Add support for JavaScript-rendered pages. " + text_of(30_000, "notes"))
    limits = text_of(20_000, "limits")
    assert chat("Now add rate limiting and error handling. " + limits)  # past 100,000
    assert chat("And tests")  # goes on from the summary
    kinds = [[i.type for i in u.iterations] for u in usages]
    assert kinds == [["message"], ["message"], ["compaction", "message"], ["message"]]
    assert messages[5]["content"][0].type == "compaction"
    assert usages[3].input_tokens < 1000  # the summary and what follows, not 104,000 tokens


def test_compaction_pausing_after_compaction_preserves_the_last_exchange(client):
    """compaction.md, "Pausing after compaction" and its example preserving "the prior exchange
    and the current user message (three messages total) verbatim": with
    ``pause_after_compaction`` the API "returns a message with the `compaction` stop reason"
    whose content is the compaction block alone; the client sends it with the three messages
    and the conversation goes on. Before, the simulator ignored the parameter: the response
    went on with a reply and the example's branch never ran."""
    messages: list[dict] = [
        {"role": "user", "content": "Help me build a Python web scraper. " + text_of(46_000)},
        {"role": "assistant", "content": "Here is a first version."},
    ]

    def chat(user_message: str):
        messages.append({"role": "user", "content": user_message})
        response = client.beta.messages.create(
            betas=["compact-2026-01-12"],
            model="claude-opus-5",
            max_tokens=4096,
            messages=messages,
            context_management={
                "edits": [
                    {
                        "type": "compact_20260112",
                        "trigger": {"type": "input_tokens", "value": 50000},
                        "pause_after_compaction": True,
                    }
                ]
            },
        )
        paused = response
        if response.stop_reason == "compaction":
            compaction_block = response.content[0]
            preserved_messages = messages[-3:] if len(messages) >= 3 else messages
            new_assistant_content = [compaction_block]
            messages_after_compaction = [
                {"role": "assistant", "content": new_assistant_content}
            ] + preserved_messages
            response = client.beta.messages.create(
                betas=["compact-2026-01-12"],
                model="claude-opus-5",
                max_tokens=4096,
                messages=messages_after_compaction,
                context_management={"edits": [{"type": "compact_20260112"}]},
            )
            messages.clear()
            messages.extend(messages_after_compaction)
        messages.append({"role": "assistant", "content": response.content})
        return paused, response

    paused, response = chat("Add support for JavaScript-rendered pages")
    assert paused.stop_reason == "compaction"
    assert [b.type for b in paused.content] == ["compaction"]
    assert [i.type for i in paused.usage.iterations] == ["compaction"]
    assert paused.usage.input_tokens == paused.usage.output_tokens == 0  # no message iteration
    assert response.stop_reason == "end_turn" and response.content[0].type == "text"
    # the summary and the three preserved messages, of which the first holds about 60,000
    assert 59_000 < response.usage.input_tokens < 61_000
    assert len(messages) == 5 and messages[0]["content"][0].type == "compaction"
