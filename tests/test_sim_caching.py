"""The simulator applies Anthropic's prompt-caching rules, observed through the official SDK."""

import asyncio
import base64
import io

import anthropic
import pytest
from PIL import Image

from app.facts.catalogue import default_catalogue
from app.simulator.runner import SimulatorThread
from app.simulator.server import SimulatorConfig
from tests.conftest import advance
from tests.helpers import (
    HAIKU_45,
    OPUS_47,
    SONNET_46,
    api_message,
    block,
    blocks_message,
    prefix_tokens,
    raw_post,
)

EACH = 400  # tokens per numbered block: block 4's prefix (1604) is over Sonnet 4.6's minimum


def send(client, messages, model=SONNET_46, **kw):
    kw.setdefault("max_tokens", 50)
    return client.messages.create(model=model, messages=messages, **kw).usage


def test_first_request_writes_and_identical_second_reads(client):
    msgs = [blocks_message(3, EACH, marks={3: None})]
    first = send(client, msgs)
    second = send(client, msgs)
    assert (first.cache_creation_input_tokens, first.cache_read_input_tokens) == (
        prefix_tokens(3, EACH),
        0,
    )
    assert (second.cache_creation_input_tokens, second.cache_read_input_tokens) == (
        0,
        prefix_tokens(3, EACH),
    )
    assert first.cache_creation.ephemeral_5m_input_tokens == prefix_tokens(3, EACH)


def test_a_change_before_the_only_entry_misses_even_with_unchanged_blocks_before_it(client):
    """No phantom hits: block 25 changed, blocks 1-24 are the same, but the first request wrote
    only at block 30, so there is nothing to read (prompt-caching.md, principle 1)."""
    send(client, [blocks_message(30, EACH, marks={30: None})])
    usage = send(client, [blocks_message(30, EACH, marks={30: None}, changed={25})])
    assert usage.cache_read_input_tokens == 0
    assert usage.cache_creation_input_tokens == prefix_tokens(30, EACH)


def test_a_second_breakpoint_written_earlier_is_found_after_a_later_change(client):
    send(client, [blocks_message(30, EACH, marks={24: None, 30: None})])
    usage = send(client, [blocks_message(30, EACH, marks={24: None, 30: None}, changed={25})])
    assert usage.cache_read_input_tokens == prefix_tokens(24, EACH)
    assert usage.cache_creation_input_tokens == 6 * EACH


def test_the_window_counts_the_breakpoint_itself(client):
    """An entry at block 11 is position 20 from a breakpoint at 30 (hit); at 10 it is the 21st."""
    send(client, [blocks_message(30, EACH, marks={10: None, 11: None})])
    reach = send(client, [blocks_message(30, EACH, marks={30: None}, changed={12})])
    assert reach.cache_read_input_tokens == prefix_tokens(11, EACH)
    send(client, [blocks_message(31, EACH, marks={10: None})])
    beyond = send(client, [blocks_message(31, EACH, marks={30: None}, changed={11})])
    assert beyond.cache_read_input_tokens == 0


@pytest.mark.parametrize(
    ("model", "tokens", "cached"),
    [  # minimums from prompt-caching.md, "Cache limitations"
        (SONNET_46, 1000, False),
        (SONNET_46, 1500, True),
        (OPUS_47, 1500, False),  # 1,504 x 1.3 = 1,956 tokens with its tokenizer: under 2,048
        (OPUS_47, 2500, True),
        (HAIKU_45, 2500, False),
        (HAIKU_45, 4500, True),
        ("claude-opus-5", 480, True),  # 512 for Opus 5 (484 x 1.3 = 630)
        ("claude-opus-4-8", 700, False),  # 1,024 for Opus 4.8 (704 x 1.3 = 916)
        ("claude-opus-4-8", 800, True),  # (804 x 1.3 = 1,046)
    ],
)
def test_breakpoint_under_the_models_minimum_is_ignored_silently(client, model, tokens, cached):
    msgs = [{"role": "user", "content": [block(tokens, cache=True)]}]
    total = client.messages.count_tokens(model=model, messages=msgs).input_tokens
    minimum = default_catalogue().require(model).min_cacheable_tokens
    assert cached == (total >= minimum)
    first = send(client, msgs, model=model)
    second = send(client, msgs, model=model)
    if cached:
        assert (first.cache_creation_input_tokens, second.cache_read_input_tokens) == (total, total)
    else:
        assert (first.cache_creation_input_tokens, first.cache_read_input_tokens) == (0, 0)
        assert (second.cache_read_input_tokens, second.input_tokens) == (0, total)


def test_alias_and_dated_id_share_entries_but_other_models_do_not(client):
    msgs = [{"role": "user", "content": [block(5000, cache=True)]}]
    send(client, msgs, model="claude-haiku-4-5")
    assert send(client, msgs, model=HAIKU_45).cache_read_input_tokens == 5004
    assert send(client, msgs, model=SONNET_46).cache_read_input_tokens == 0


def test_entries_are_isolated_per_api_key(sim):
    msgs = [{"role": "user", "content": [block(3000, cache=True)]}]
    with (
        anthropic.Anthropic(base_url=sim.base_url, api_key="key-a") as a,
        anthropic.Anthropic(base_url=sim.base_url, api_key="key-b") as b,
    ):
        send(a, msgs)
        assert send(b, msgs).cache_read_input_tokens == 0
        assert send(a, msgs).cache_read_input_tokens == 3004


def test_five_minute_entry_expires_after_the_clock_passes_300_seconds(sim, client):
    msgs = [{"role": "user", "content": [block(3000, cache=True)]}]
    send(client, msgs)
    advance(sim, 299)
    assert send(client, msgs).cache_read_input_tokens == 3004
    advance(sim, 301)
    usage = send(client, msgs)
    assert (usage.cache_read_input_tokens, usage.cache_creation_input_tokens) == (0, 3004)


def test_a_read_refreshes_the_lifetime(sim, client):
    msgs = [{"role": "user", "content": [block(3000, cache=True)]}]
    send(client, msgs)
    advance(sim, 200)
    assert send(client, msgs).cache_read_input_tokens == 3004
    advance(sim, 200)  # 400 s after the write, 200 s after the read
    assert send(client, msgs).cache_read_input_tokens == 3004


def test_one_hour_part_survives_when_the_five_minute_part_expires(sim, client):
    system = [block(2000, "system", ttl="1h")]
    msgs = [{"role": "user", "content": [block(1500, "question", cache=True)]}]
    first = send(client, msgs, system=system)
    assert first.cache_creation.ephemeral_1h_input_tokens == 2000
    assert first.cache_creation.ephemeral_5m_input_tokens == 1504
    advance(sim, 1800)
    later = send(client, msgs, system=system)
    assert later.cache_read_input_tokens == 2000
    assert later.cache_creation.ephemeral_5m_input_tokens == 1504


def test_one_hour_breakpoint_after_five_minute_one_is_rejected(client):
    with pytest.raises(anthropic.BadRequestError) as err:
        send(
            client,
            [{"role": "user", "content": [block(100, ttl="1h")]}],
            system=[block(2000, cache=True)],
        )
    assert api_message(err).endswith(
        "messages.0.content.0.cache_control.ttl: a ttl='1h' cache_control block must not come "
        "after a ttl='5m' cache_control block. Note that blocks are processed in the following "
        "order: `tools`, `system`, `messages`."
    )


def test_fifth_breakpoint_is_rejected(client):
    with pytest.raises(anthropic.BadRequestError) as err:
        send(client, [blocks_message(5, 10, marks={k: None for k in range(1, 6)})])
    assert "A maximum of 4 blocks with cache_control may be provided. Found 5." in api_message(err)


def test_identical_requests_sent_together_both_miss(sim):
    async def scenario(base_url):
        msgs = [{"role": "user", "content": [block(20000, cache=True)]}]
        async with anthropic.AsyncAnthropic(base_url=base_url, api_key="k") as c:
            pair = await asyncio.gather(
                *[c.messages.create(model=SONNET_46, max_tokens=5, messages=msgs) for _ in range(2)]
            )
            after = await c.messages.create(model=SONNET_46, max_tokens=5, messages=msgs)
        return [m.usage for m in pair], after.usage

    with SimulatorThread(SimulatorConfig(time_scale=0.05)) as slow:
        pair, after = asyncio.run(scenario(slow.base_url))
    assert [u.cache_read_input_tokens for u in pair] == [0, 0]
    assert [u.cache_creation_input_tokens for u in pair] == [20004, 20004]
    assert after.cache_read_input_tokens == 20004


class TestAutomaticCaching:
    def test_moves_forward_with_the_conversation(self, client):
        turn1 = [{"role": "user", "content": text_user(1500)}]
        first = send(client, turn1, cache_control={"type": "ephemeral"})
        turn2 = turn1 + [
            {"role": "assistant", "content": "noted"},
            {"role": "user", "content": "and then?"},
        ]
        second = send(client, turn2, cache_control={"type": "ephemeral"})
        assert first.cache_creation_input_tokens == 1504
        assert second.cache_read_input_tokens == 1504
        assert second.cache_creation_input_tokens > 0 and second.input_tokens == 0

    def test_same_ttl_already_on_last_block_changes_nothing(self, client):
        msgs = [{"role": "user", "content": [block(1500, cache=True)]}]
        usage = send(client, msgs, cache_control={"type": "ephemeral"})
        assert usage.cache_creation_input_tokens == 1504

    def test_different_ttl_on_last_block_is_rejected(self, client):
        msgs = [{"role": "user", "content": [block(1500, cache=True)]}]
        with pytest.raises(anthropic.BadRequestError):
            send(client, msgs, cache_control={"type": "ephemeral", "ttl": "1h"})

    def test_counts_against_the_four_slots(self, client):
        msgs = [blocks_message(4, 10, marks={k: None for k in range(1, 5)})]
        with pytest.raises(anthropic.BadRequestError) as err:
            send(client, msgs, cache_control={"type": "ephemeral"})
        assert "Found 5." in api_message(err)

    def test_walks_back_past_a_block_that_cannot_carry_a_breakpoint(self, client):
        msgs = [
            {"role": "user", "content": text_user(1500)},
            {
                "role": "assistant",
                "content": [{"type": "thinking", "thinking": "x" * 400, "signature": "sig"}],
            },
        ]
        usage = send(client, msgs, cache_control={"type": "ephemeral"})
        assert usage.cache_creation_input_tokens == 1504
        assert usage.input_tokens == 104  # the thinking block (100) and its message overhead

    def test_one_hour_automatic_after_five_minute_explicit_is_rejected(self, client):
        with pytest.raises(anthropic.BadRequestError) as err:
            send(
                client,
                [{"role": "user", "content": text_user(100)}],
                system=[block(1500, cache=True)],
                cache_control={"type": "ephemeral", "ttl": "1h"},
            )
        assert "must not come after" in api_message(err)


def text_user(tokens):
    return [{"type": "text", "text": block(tokens)["text"]}]


TOOLS = [
    {
        "name": "lookup",
        "description": "Look a word up " * 200,
        "input_schema": {"type": "object", "properties": {"word": {"type": "string"}}},
    }
]


def marked_tools(tools):
    return [*tools[:-1], {**tools[-1], "cache_control": {"type": "ephemeral"}}]


class TestLevelInvalidation:
    """Each change keeps the levels before it and invalidates its own and later ones."""

    def base(self, **over):
        kw = {
            "tools": marked_tools(TOOLS),
            "system": [block(600, "system", cache=True)],
            "messages": [{"role": "user", "content": [block(800, "question", cache=True)]}],
        }
        kw.update(over)
        return kw

    def reads(self, client, **over):
        send(client, **self.base())
        return send(client, **self.base(**over)).cache_read_input_tokens

    def tools_tokens(self, client, **over):
        return (
            client.messages.count_tokens(
                model=SONNET_46, tools=TOOLS, messages=[{"role": "user", "content": "x"}], **over
            ).input_tokens
            - 5
        )

    def test_unchanged_request_reads_everything(self, client):
        assert self.reads(client) == self.tools_tokens(client) + 600 + 804

    def test_changed_tool_definition_invalidates_everything(self, client):
        other = [{**TOOLS[0], "description": "Something else " * 200}]
        assert self.reads(client, tools=marked_tools(other)) == 0

    def test_changed_system_prompt_keeps_the_tools(self, client):
        assert self.reads(client, system=[block(600, "other", cache=True)]) == self.tools_tokens(
            client
        )

    def test_tool_choice_keeps_tools_and_system(self, client):
        """The read is counted as the new request counts it: a forced choice's tool-use system
        prompt is longer (588 tokens against 496 on Sonnet 4.6, pricing.md)."""
        forced = {"tool_choice": {"type": "any"}}
        got = self.reads(client, **forced)
        assert got == self.tools_tokens(client, **forced) + 600
        assert self.tools_tokens(client, **forced) - self.tools_tokens(client) == 588 - 496

    def test_thinking_toggle_keeps_tools_and_system(self, client):
        got = self.reads(
            client, thinking={"type": "enabled", "budget_tokens": 1024}, max_tokens=2000
        )
        assert got == self.tools_tokens(client) + 600

    def test_citations_toggle_keeps_only_the_tools(self, client):
        def doc(enabled):
            return {
                "role": "user",
                "content": [
                    {
                        "type": "document",
                        "source": {
                            "type": "text",
                            "media_type": "text/plain",
                            "data": "a fact " * 100,
                        },
                        "citations": {"enabled": enabled},
                    },
                    block(800, "question", cache=True),
                ],
            }

        send(client, **self.base(messages=[doc(False)]))
        usage = send(client, **self.base(messages=[doc(True)]))
        assert usage.cache_read_input_tokens == self.tools_tokens(client)

    def test_changed_image_invalidates_from_that_message_on(self, client):
        def turn(color):
            return [
                {"role": "user", "content": [block(1200, "intro", cache=True)]},
                {"role": "assistant", "content": "ok"},
                {"role": "user", "content": [png_block(color), block(50, cache=True)]},
            ]

        send(client, **self.base(messages=turn("red")))
        usage = send(client, **self.base(messages=turn("blue")))
        # The nearest entry before the changed image is the one written at the intro's
        # breakpoint; the assistant's "ok" was never an entry.
        assert usage.cache_read_input_tokens == self.tools_tokens(client) + 600 + 1204

    def test_the_first_image_anywhere_invalidates_the_messages(self, client):
        """prompt-caching.md: adding or removing images anywhere affects message blocks, even
        when the earlier messages are unchanged."""
        intro = {"role": "user", "content": [block(1200, "intro", cache=True)]}
        send(client, **self.base(messages=[intro]))
        with_image = [
            intro,
            {"role": "assistant", "content": "ok"},
            {"role": "user", "content": [png_block("red"), block(50, cache=True)]},
        ]
        usage = send(client, **self.base(messages=with_image))
        assert usage.cache_read_input_tokens == self.tools_tokens(client) + 600


def png_block(color):
    buf = io.BytesIO()
    Image.new("RGB", (200, 150), color).save(buf, "PNG")
    return {
        "type": "image",
        "source": {
            "type": "base64",
            "media_type": "image/png",
            "data": base64.b64encode(buf.getvalue()).decode(),
        },
    }


def test_image_tokens_follow_width_times_height_over_750(client):
    count = client.messages.count_tokens(
        model=SONNET_46, messages=[{"role": "user", "content": [png_block("red")]}]
    )
    assert count.input_tokens == 40 + 4  # 200 x 150 / 750 = 40, plus the message overhead


def test_introspection_lists_live_entries_with_countdown(sim, client):
    send(client, [{"role": "user", "content": [block(3000, cache=True)]}])
    send(client, [{"role": "user", "content": [block(3000, cache=True)]}])
    status, _, body = raw_post(sim.base_url, "/_sim/cache", b"", method="GET")
    assert status == 200
    (entry,) = body["entries"]
    assert entry["tokens"] == 3004 and entry["ttl"] == "5m" and entry["hits"] == 1
    assert 299 <= entry["seconds_left"] <= 300


def test_a_marked_block_writes_its_entry_even_when_a_later_breakpoint_reads_further(client):
    """prompt-caching.md, principle 1: "Marking a block with cache_control writes exactly one
    cache entry: a hash of the prefix ending at that block." A breakpoint added at block 10 of a
    warm conversation (a pin) gets its entry although the breakpoint at block 30 read past it;
    so a later edit at block 25 still reads the first 10 blocks (it read nothing before)."""
    send(client, [blocks_message(30, EACH, marks={30: None})])  # writes at 30 only
    pinned = send(client, [blocks_message(30, EACH, marks={10: None, 30: None})])
    assert pinned.cache_read_input_tokens == prefix_tokens(30, EACH)  # billed as a read
    assert pinned.cache_creation_input_tokens == 0
    edited = send(client, [blocks_message(30, EACH, marks={10: None, 30: None}, changed={25})])
    assert edited.cache_read_input_tokens == prefix_tokens(10, EACH)
