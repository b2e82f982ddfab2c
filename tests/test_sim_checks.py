"""Checks the API makes across a request, each from its page (issue 39, "Checks the API makes")."""

import anthropic
import pytest

from tests.helpers import SONNET_46, api_message

DOC = {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "Sky."}}


def result(text: str = "Paris is the capital.", cites: bool | None = True, extra=()) -> dict:
    block = {
        "type": "search_result",
        "source": "https://example.com/a",
        "title": "A",
        "content": [{"type": "text", "text": text}, *extra],
    }
    if cites is not None:
        block["citations"] = {"enabled": cites}
    return block


def ask(client, content, role="user", **kw):
    messages = [{"role": "user", "content": "hi"}] if role == "assistant" else []
    messages.append({"role": role, "content": content})
    if role == "assistant":
        messages.append({"role": "user", "content": "go on"})
    return client.messages.create(model=SONNET_46, max_tokens=20, messages=messages, **kw)


def refused(call, *needles):
    with pytest.raises(anthropic.BadRequestError) as err:
        call()
    message = api_message(err)
    assert all(n in message for n in needles), message


def test_citations_on_some_documents_and_not_others_is_a_400_citations_md(client):
    """citations.md: "citations must be enabled on all or none of the documents within a
    request"."""
    on, off = {**DOC, "citations": {"enabled": True}}, {**DOC, "citations": {"enabled": False}}
    question = {"type": "text", "text": "Why?"}
    ask(client, [on, dict(on), question])
    refused(lambda: ask(client, [on, off, question]), "all or none")


def test_search_results_with_mixed_citation_settings_is_a_400_citation_control(client):
    """search-results.md, "Citation control": "Mixing search results with different citation
    settings results in an error"."""
    ask(client, [result(), result("b"), {"type": "text", "text": "Which?"}])
    refused(
        lambda: ask(client, [result(), result("b", False), {"type": "text", "text": "?"}]),
        "all or none",
    )


def test_a_search_result_in_an_assistant_message_is_a_400(client):
    """search-results.md: search results come "in user messages" or tool results."""
    refused(lambda: ask(client, [result()], role="assistant"), "search_result")


def test_a_tool_result_mixing_search_results_with_other_blocks_is_a_400(client):
    """search-results.md: "if any block in a `tool_result` content array is a `search_result`,
    all of its blocks must be `search_result`"."""
    tools = [{"name": "kb", "description": "Search.", "input_schema": {"type": "object"}}]
    call = {"type": "tool_use", "id": "toolu_1", "name": "kb", "input": {}}

    def loop(content):
        messages = [
            {"role": "user", "content": "Search the knowledge base."},
            {"role": "assistant", "content": [call]},
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": content}],
            },
        ]
        return client.messages.create(
            model=SONNET_46, max_tokens=20, tools=tools, messages=messages
        )

    loop([result(), result("b")])
    refused(lambda: loop([result(), {"type": "text", "text": "and more"}]), "only search_result")


def test_an_image_inside_a_search_result_is_a_400(client):
    """search-results.md: "Search results hold text only. Images and other media are not
    supported inside the `content` array"."""
    image = {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}}
    refused(lambda: ask(client, [result(extra=[image])]), "text blocks only")


TOOL = {"name": "get_weather", "description": "Weather.", "input_schema": {"type": "object"}}


def test_every_tool_deferred_is_a_400_tool_search_tool(client):
    """tool-search-tool.md, "All tools deferred": "At least one tool must have
    defer_loading=false. All tools cannot be deferred."."""
    tools = [{**TOOL, "defer_loading": True}, {**TOOL, "name": "other", "defer_loading": True}]
    refused(lambda: ask(client, "hi", tools=tools), "All tools cannot be deferred")
    ask(client, "hi", tools=[tools[0], TOOL | {"name": "search"}])


def test_a_tool_reference_to_an_unknown_tool_is_a_400(client):
    """tool-search-tool.md: "Tool reference 'unknown_tool' not found in available tools"."""
    search = {
        "name": "find_tools",
        "description": "Find tools.",
        "input_schema": {"type": "object"},
    }
    call = {"type": "tool_use", "id": "toolu_1", "name": "find_tools", "input": {}}

    def loop(name):
        found = [{"type": "tool_reference", "tool_name": name}]
        messages = [
            {"role": "user", "content": "Find a weather tool."},
            {"role": "assistant", "content": [call]},
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": found}],
            },
        ]
        return client.messages.create(
            model=SONNET_46,
            max_tokens=20,
            tools=[search, {**TOOL, "defer_loading": True}],
            messages=messages,
        )

    loop("get_weather")
    refused(lambda: loop("unknown_tool"), "Tool reference 'unknown_tool' not found")


def test_the_memory_tool_under_another_name_is_a_400_memory_tool(client):
    """memory-tool.md: "the `name` must be `memory`"."""
    ask(client, "hi", tools=[{"type": "memory_20250818", "name": "memory"}])
    refused(
        lambda: ask(client, "hi", tools=[{"type": "memory_20250818", "name": "notes"}]),
        "must be named 'memory'",
    )


def test_a_modified_thinking_block_in_a_tool_loop_is_a_400_thinking_troubleshooting(client):
    """thinking-troubleshooting.md: "`thinking` or `redacted_thinking` blocks in the latest
    assistant message cannot be modified"; the block as returned is accepted."""
    tools = [{"name": "lookup", "description": "Look up.", "input_schema": {"type": "object"}}]
    first = client.messages.create(
        model=SONNET_46,
        max_tokens=3000,
        thinking={"type": "enabled", "budget_tokens": 2000},
        tools=tools,
        messages=[{"role": "user", "content": "Use lookup please."}],
    )
    said = [b.to_dict() for b in first.content]
    assert said[0]["type"] == "thinking" and said[0]["thinking"]
    call = next(b for b in said if b["type"] == "tool_use")

    def follow(assistant):
        return client.messages.create(
            model=SONNET_46,
            max_tokens=3000,
            thinking={"type": "enabled", "budget_tokens": 2000},
            tools=tools,
            messages=[
                {"role": "user", "content": "Use lookup please."},
                {"role": "assistant", "content": assistant},
                {
                    "role": "user",
                    "content": [
                        {"type": "tool_result", "tool_use_id": call["id"], "content": "42"}
                    ],
                },
            ],
        )

    follow(said)
    changed = [{**said[0], "thinking": said[0]["thinking"] + " And more."}, *said[1:]]
    refused(lambda: follow(changed), "cannot be modified")


def test_a_tool_use_without_its_tool_result_right_after_is_a_400(client):
    """troubleshooting-tool-use.md: "`tool_use` ids were found without `tool_result` blocks
    immediately after": a result missing, or "`tool_result` is not the first content block in
    the user message". (A keep-alive ping cut between two results sent such a request, and the
    simulator took it.)"""
    tool = {"name": "get", "description": "Get a thing.", "input_schema": {"type": "object"}}
    calls = [{"type": "tool_use", "id": f"toolu_{n}", "name": "get", "input": {}} for n in (1, 2)]
    answers = [{"type": "tool_result", "tool_use_id": f"toolu_{n}", "content": "r"} for n in (1, 2)]

    def send(following):
        return client.messages.create(
            model=SONNET_46,
            max_tokens=20,
            tools=[tool],
            messages=[
                {"role": "user", "content": "Look both up."},
                {"role": "assistant", "content": calls},
                {"role": "user", "content": following},
            ],
        )

    send(answers)
    send([*answers, {"type": "text", "text": "Thanks."}])
    refused(lambda: send(answers[:1]), "immediately after: toolu_2")
    refused(lambda: send([{"type": "text", "text": "Here:"}, *answers]), "toolu_1, toolu_2")
    refused(lambda: send("no results at all"), "`tool_use` ids were found without")
