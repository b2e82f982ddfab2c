"""A keep-alive ping's body (``app.inspect.ping_body``): the program's last cached request with
``max_tokens: 0``, never streamed, cut after its last breakpoint where a valid request may end
there, refused where the API refuses ``max_tokens: 0`` (prompt-caching.md, "Pre-warming the
cache": not with ``stream``, thinking of type ``enabled``, ``output_config.format`` or a forcing
``tool_choice``). The cut bodies are sent to the simulator, which checks them as the API does:
each is accepted and reads all that the program's request cached."""

from __future__ import annotations

import pytest

from app.inspect.ping_body import NoPing, cut_body, whole_body
from tests.helpers import SONNET_46, raw_post, text_of

CC = {"type": "ephemeral"}


def text(tokens: int, tag: str, cache: bool = False) -> dict:
    block = {"type": "text", "text": text_of(tokens, tag)}
    return {**block, "cache_control": CC} if cache else block


def claude_code_like() -> dict:
    """Tools, a cached system prompt, a tool call and its result, the last user turn marked
    (Claude Code's layout), then a block after the breakpoint."""
    tool = {"name": "read_file", "description": "Read a file.", "input_schema": {"type": "object"}}
    return {
        "model": SONNET_46,
        "max_tokens": 400,
        "stream": True,
        "diagnostics": {"previous_message_id": None},
        "tools": [tool],
        "system": [text(1500, "system", cache=True)],
        "thinking": {"type": "adaptive"},
        "messages": [
            {"role": "user", "content": [text(300, "question")]},
            {
                "role": "assistant",
                "content": [
                    {"type": "tool_use", "id": "toolu_1", "name": "read_file", "input": {}}
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": "done"},
                    text(600, "turn", cache=True),
                    text(200, "after the breakpoint"),
                ],
            },
        ],
    }


def test_the_cut_ends_at_the_last_breakpoint_of_a_user_message():
    body = claude_code_like()
    ping = cut_body(body)
    assert ping["max_tokens"] == 0 and "stream" not in ping and "diagnostics" not in ping
    assert ping["tools"] == body["tools"] and ping["system"] == body["system"]
    assert ping["thinking"] == {"type": "adaptive"}  # rendered into the prompt: kept
    assert ping["messages"][:2] == body["messages"][:2]
    assert ping["messages"][2]["content"] == body["messages"][2]["content"][:2]
    assert body["stream"] is True and len(body["messages"][2]["content"]) == 3  # untouched


def test_a_breakpoint_in_an_assistant_message_keeps_the_next_user_message_whole():
    body = claude_code_like()
    body["messages"][1]["content"][0]["cache_control"] = CC
    del body["messages"][2]["content"][1]["cache_control"]
    body["messages"] += [
        {"role": "assistant", "content": "Read."},
        {"role": "user", "content": "Thanks."},
    ]
    ping = cut_body(body)
    assert ping["messages"] == body["messages"][:3]  # the tool result answers the call


def test_a_breakpoint_only_in_the_system_prompt_keeps_the_apps_placeholder_turn():
    body = claude_code_like()
    for message in body["messages"]:
        for block in message["content"]:
            block.pop("cache_control", None)
    assert cut_body(body)["messages"] == [{"role": "user", "content": "."}]


def test_automatic_caching_marks_the_last_block_so_nothing_is_cut():
    body = {**claude_code_like(), "cache_control": CC}
    assert cut_body(body) == whole_body(body)
    assert whole_body(body)["messages"] == body["messages"]


@pytest.mark.parametrize(
    "field, value, said",
    [
        ("thinking", {"type": "enabled", "budget_tokens": 2048}, "extended thinking"),
        ("tool_choice", {"type": "any"}, "forced tool_choice"),
        ("tool_choice", {"type": "tool", "name": "read_file"}, "forced tool_choice"),
        ("output_config", {"format": {"type": "json_schema", "schema": {}}}, "output format"),
    ],
)
def test_what_the_api_refuses_with_max_tokens_0_is_never_pinged(field, value, said):
    body = {**claude_code_like(), field: value}
    with pytest.raises(NoPing, match=said):
        cut_body(body)
    with pytest.raises(NoPing, match=said):
        whole_body(body)


@pytest.mark.parametrize("where", ["user", "assistant", "system"])
def test_the_simulator_takes_each_cut_and_it_reads_what_the_request_cached(sim, where):
    body = claude_code_like()
    if where != "user":
        del body["messages"][2]["content"][1]["cache_control"]
    if where == "assistant":
        body["messages"][1]["content"][0]["cache_control"] = CC
    del body["stream"]
    status, _, first = raw_post(sim.base_url, "/v1/messages", body)
    assert status == 200, first
    cached = first["usage"]["cache_creation_input_tokens"]
    status, _, ping = raw_post(sim.base_url, "/v1/messages", cut_body(body))
    assert status == 200, ping
    assert ping["usage"]["cache_read_input_tokens"] == cached > 1024
    assert ping["usage"]["cache_creation_input_tokens"] == ping["usage"]["output_tokens"] == 0
    assert ping["content"] == [] and ping["stop_reason"] == "max_tokens"


def test_a_cut_keeps_every_tool_result_of_the_message_holding_the_breakpoint(sim):
    """The breakpoint on the first of two tool results: the cut kept only that one, and the API
    refuses a tool_use "without tool_result blocks immediately after"
    (troubleshooting-tool-use.md), as the simulator now does."""
    tool = {"name": "get", "description": "Get a thing.", "input_schema": {"type": "object"}}
    calls = [{"type": "tool_use", "id": f"toolu_{n}", "name": "get", "input": {}} for n in (1, 2)]
    answers = [
        {"type": "tool_result", "tool_use_id": "toolu_1", "content": "r1", "cache_control": CC},
        {"type": "tool_result", "tool_use_id": "toolu_2", "content": "r2"},
        text(20, "an aside after the results"),
    ]
    body = {
        "model": SONNET_46,
        "max_tokens": 20,
        "tools": [tool],
        "messages": [
            {"role": "user", "content": [text(2000, "question")]},
            {"role": "assistant", "content": calls},
            {"role": "user", "content": answers},
        ],
    }
    ping = cut_body(body)
    last = ping["messages"][-1]["content"]
    assert [b.get("tool_use_id") for b in last] == ["toolu_1", "toolu_2"]
    status, _, answer = raw_post(sim.base_url, "/v1/messages", ping)
    assert status == 200, answer
