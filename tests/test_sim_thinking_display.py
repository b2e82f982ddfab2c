"""Thinking display against the simulator (build-with-claude/thinking.md, "Controlling thinking
display")."""

import pytest

from tests.helpers import block

OPUS_5 = "claude-opus-5"
ASK = [{"role": "user", "content": "What is 27 * 453?"}]


def think(client, model=OPUS_5, display=None, messages=ASK, **kw):
    thinking = {"type": "adaptive"} | ({"display": display} if display else {})
    return client.messages.create(
        model=model, max_tokens=2000, thinking=thinking, messages=messages, **kw
    )


@pytest.mark.parametrize(
    "model",
    ["claude-fable-5", "claude-mythos-5", OPUS_5, "claude-sonnet-5", "claude-opus-4-8"]
    + ["claude-opus-4-7"],
)
def test_omitted_is_the_default_on_the_models_the_page_lists(client, model):
    """ "`omitted`: thinking blocks are returned with an empty `thinking` field. The `signature`
    field still carries the encrypted full thinking [...] This is the default on Claude Fable
    5, Claude Mythos 5, Claude Opus 5, Claude Sonnet 5, Claude Opus 4.8, Claude Opus 4.7"."""
    reply = think(client, model)
    thinking = reply.content[0]
    assert thinking.type == "thinking" and thinking.thinking == "" and thinking.signature
    assert reply.usage.output_tokens > 0  # "You're still charged for the full thinking tokens"


def test_summarized_is_the_default_on_opus_4_6_and_an_opt_in_elsewhere(client):
    """ "`summarized` [...] This is the default on Claude Opus 4.6, Claude Sonnet 4.6, and
    earlier models"; ``display: "summarized"`` opts in on Opus 5, with the same signature
    ("The `signature` field is identical whether `display` is `summarized` or `omitted`")."""
    older = think(client, "claude-opus-4-6").content[0]
    assert older.thinking
    shown, hidden = think(client, display="summarized").content[0], think(client).content[0]
    assert shown.thinking and hidden.thinking == ""
    assert shown.signature == hidden.signature
    billed = think(client, display="summarized").usage.output_tokens
    assert think(client).usage.output_tokens == billed


def test_a_stream_of_an_omitted_block_sends_one_signature_delta_and_no_thinking_delta(client):
    """ "Streaming thinking": "the thinking block opens, a single `signature_delta` arrives, and
    the block closes without any `thinking_delta` events. Text streaming begins immediately
    after"."""
    with client.messages.stream(
        model=OPUS_5, max_tokens=2000, thinking={"type": "adaptive"}, messages=ASK
    ) as stream:
        events = list(stream)
    deltas = [e.delta.type for e in events if e.type == "content_block_delta" and e.index == 0]
    assert deltas == ["signature_delta"]
    starts = [e.content_block.type for e in events if e.type == "content_block_start"]
    assert starts[:2] == ["thinking", "text"]


def test_text_put_into_an_omitted_blocks_empty_field_is_ignored(client):
    """ "Any text you place in the `thinking` field of a round-tripped omitted block is
    ignored": the next request counts and caches the same prompt whether the field is left
    empty or filled, and is not refused."""
    first = think(client, messages=[{"role": "user", "content": [block(3000, "a report")]}])
    thinking, text = first.content[0].to_dict(), first.content[1].to_dict()
    assert thinking["thinking"] == ""

    def follow_up(sent_thinking: dict):
        messages = [
            {"role": "user", "content": [block(3000, "a report")]},
            {"role": "assistant", "content": [sent_thinking, text]},
            {
                "role": "user",
                "content": [{**block(10, "and then?"), "cache_control": {"type": "ephemeral"}}],
            },
        ]
        return think(client, messages=messages).usage

    as_returned = follow_up(thinking)
    filled = follow_up({**thinking, "thinking": "I decided to multiply digit by digit. " * 40})
    assert as_returned.cache_creation_input_tokens > 3000
    assert filled.cache_read_input_tokens == as_returned.cache_creation_input_tokens
    assert filled.input_tokens == as_returned.input_tokens
