"""The cache key is the bytes of the prompt, and a reply never depends on the cache (issue 39,
"The cache key"; issue 36, point 15)."""

import json

import pytest

from tests.helpers import SONNET_46, raw_post, text_of

LONG = text_of(2000, "contract")


def tool_loop(input_: dict) -> list[dict]:
    """A tool loop whose assistant turn calls ``lookup`` with ``input_`` (keys in its order)."""
    return [
        {"role": "user", "content": LONG + " Look it up."},
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": input_}],
        },
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_1",
                    "content": "found",
                    "cache_control": {"type": "ephemeral"},
                }
            ],
        },
    ]


TOOLS = [
    {
        "name": "lookup",
        "description": "Look a clause up.",
        "input_schema": {
            "type": "object",
            "properties": {"clause": {"type": "string"}, "page": {"type": "integer"}},
        },
    }
]


def test_tool_use_input_keys_in_another_order_are_other_bytes_prompt_caching_troubleshooting(
    client,
):
    """prompt-caching.md, "Troubleshooting common issues": "Verify that the keys in your
    tool_use content blocks have stable ordering as some languages (for example, Swift, Go)
    randomize key order during JSON conversion, breaking caches". The same keys in another
    order are other bytes: the second request reads nothing; in the same order it reads all."""
    first = client.messages.create(
        model=SONNET_46,
        max_tokens=20,
        tools=TOOLS,
        messages=tool_loop({"clause": "7", "page": 3}),
    ).usage
    reordered = client.messages.create(
        model=SONNET_46,
        max_tokens=20,
        tools=TOOLS,
        messages=tool_loop({"page": 3, "clause": "7"}),
    ).usage
    same = client.messages.create(
        model=SONNET_46,
        max_tokens=20,
        tools=TOOLS,
        messages=tool_loop({"clause": "7", "page": 3}),
    ).usage
    assert first.cache_creation_input_tokens > 2000
    assert reordered.cache_read_input_tokens == 0
    assert reordered.cache_creation_input_tokens == first.cache_creation_input_tokens
    assert same.cache_read_input_tokens == first.cache_creation_input_tokens


def test_a_reply_is_the_same_whether_its_request_wrote_or_read_the_cache(client):
    """A reply depends on the request, never on the cache: the same request sent twice (a
    write, then a read) gets the same content and output_tokens (78 against 74 before)."""
    messages = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": LONG, "cache_control": {"type": "ephemeral"}},
                {"type": "text", "text": "Who are the parties?"},
            ],
        }
    ]
    wrote = client.messages.create(model=SONNET_46, max_tokens=400, messages=messages)
    read = client.messages.create(model=SONNET_46, max_tokens=400, messages=messages)
    assert wrote.usage.cache_creation_input_tokens > 0 and read.usage.cache_read_input_tokens > 0
    assert [b.to_dict() for b in read.content] == [b.to_dict() for b in wrote.content]
    assert read.usage.output_tokens == wrote.usage.output_tokens


@pytest.mark.parametrize("field", ["output_config", "thinking"])
def test_max_tokens_zero_with_a_field_that_is_not_an_object_is_a_400_naming_it(sim, field):
    """Issue 36, point 15: ``max_tokens: 0`` with ``output_config: "x"`` or ``thinking: "x"``
    was a 500 (the pre-warming checks read the field as an object); the API's validator answers
    400 naming the field (api/messages/create.md: both are objects)."""
    body = {
        "model": SONNET_46,
        "max_tokens": 0,
        "messages": [{"role": "user", "content": "hi"}],
        field: "x",
    }
    status, _, answer = raw_post(sim.base_url, "/v1/messages", body)
    assert status == 400, answer
    assert answer["error"]["type"] == "invalid_request_error"
    assert answer["error"]["message"].startswith(f"{field}:")
    assert "valid dictionary" in answer["error"]["message"]
    count = {k: v for k, v in body.items() if k != "max_tokens"}
    counted, _, answer = raw_post(sim.base_url, "/v1/messages/count_tokens", count)
    assert counted == 400 and answer["error"]["message"].startswith(f"{field}:")


def test_the_docs_tool_use_example_still_reads_what_it_wrote(client):
    """The fix keys tool_use inputs by their bytes; an unchanged loop still reads its prefix
    (tool-use-with-prompt-caching.md's loop: each step reads the step before)."""
    messages = tool_loop({"clause": "7", "page": 3})
    client.messages.create(model=SONNET_46, max_tokens=20, tools=TOOLS, messages=messages)
    again = json.loads(json.dumps(messages))  # a round trip through JSON keeps the order
    usage = client.messages.create(
        model=SONNET_46, max_tokens=20, tools=TOOLS, messages=again
    ).usage
    assert usage.cache_read_input_tokens > 2000
