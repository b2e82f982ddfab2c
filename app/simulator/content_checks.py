"""Checks across a whole request that the API makes, each from its page:

- citations on some documents and not others (citations.md: "citations must be enabled on all or
  none of the documents within a request"), and search results with mixed citation settings
  (search-results.md, "Citation control": "all-or-nothing");
- a ``search_result`` only in user content or a tool result, never from the assistant
  (search-results.md: "As top-level content: [...] in user messages"); a tool result holding
  one holds only search results ("Tool results are stricter"); a search result's ``content``
  holds text only ("Images and other media are not supported");
- tools: not every one deferred, a ``tool_reference`` naming a defined tool
  (tool-search-tool.md, the two 400s it quotes), the memory tool named ``memory``
  (memory-tool.md: "the `name` must be `memory`");
- every ``tool_use`` of an assistant message answered by a ``tool_result`` at the start of the
  next message (troubleshooting-tool-use.md: "`tool_use` ids were found without `tool_result`
  blocks immediately after": "Missing `tool_result` for some `tool_use` ids, or `tool_result` is
  not the first content block in the user message"; the message, server-tools.md);
- thinking blocks in the latest assistant message of a tool loop arrive as they were returned
  (thinking-troubleshooting.md: "`thinking` or `redacted_thinking` blocks in the latest
  assistant message cannot be modified"), text put into an omitted block's empty field aside.
"""

from __future__ import annotations

from app.facts.thinking_signature import original
from app.simulator.errors import invalid


def _blocks(message: dict) -> list[dict]:
    content = message.get("content")
    return [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []


def _nested(block: dict) -> list[dict]:
    content = block.get("content")
    return [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []


def check_content(body: dict, display: str) -> None:
    """``display`` is the thinking display in force (the request's, else the model's)."""
    messages = body.get("messages") or []
    documents: list[tuple[str, bool]] = []
    results: list[tuple[str, bool]] = []
    for i, message in enumerate(messages):
        for j, block in enumerate(_blocks(message)):
            path = f"messages.{i}.content.{j}"
            kind = block.get("type")
            if kind == "document":
                documents.append((path, _cites(block)))
            elif kind == "search_result":
                if message.get("role") != "user":
                    raise invalid(f"{path}: search_result blocks are only allowed in user messages")
                _check_search_result(path, block)
                results.append((path, _cites(block)))
            elif kind == "tool_result":
                nested = _nested(block)
                found = [b for b in nested if b.get("type") == "search_result"]
                if found and len(found) != len(nested):
                    raise invalid(
                        f"{path}.content: a tool_result holding a search_result may hold only "
                        "search_result blocks"
                    )
                for k, result in enumerate(nested):
                    if result.get("type") == "search_result":
                        _check_search_result(f"{path}.content.{k}", result)
                        results.append((f"{path}.content.{k}", _cites(result)))
    for found, what in ((documents, "documents"), (results, "search results")):
        if len({cites for _, cites in found}) > 1:
            raise invalid(
                f"{found[0][0]}.citations: citations must be enabled on all or none of the "
                f"{what} within a request"
            )
    _check_tools(body)
    _check_tool_results_follow(messages)
    _check_thinking_unmodified(messages, display)


def _check_tool_results_follow(messages: list) -> None:
    """Each client ``tool_use`` answered at the head of the next message (a request whose last
    message is the assistant's is a prefill: nothing follows it yet)."""
    for i in range(len(messages) - 1):
        if not isinstance(messages[i], dict) or messages[i].get("role") != "assistant":
            continue
        asked = [b.get("id") for b in _blocks(messages[i]) if b.get("type") == "tool_use"]
        if not asked:
            continue
        following = messages[i + 1] if isinstance(messages[i + 1], dict) else {}
        head = []
        for block in _blocks(following):
            if block.get("type") != "tool_result":
                break
            head.append(block.get("tool_use_id"))
        missing = [str(a) for a in asked if a not in head]
        if missing:
            raise invalid(
                f"messages.{i + 1}: `tool_use` ids were found without `tool_result` blocks "
                f"immediately after: {', '.join(missing)}. Each `tool_use` block must have a "
                "corresponding `tool_result` block in the next message."
            )


def _cites(block: dict) -> bool:
    citations = block.get("citations")
    return bool(isinstance(citations, dict) and citations.get("enabled"))


def _check_search_result(path: str, block: dict) -> None:
    for k, part in enumerate(_nested(block)):
        if part.get("type") != "text":
            raise invalid(
                f"{path}.content.{k}.type: a search_result's content holds text blocks only"
            )


def _check_tools(body: dict) -> None:
    tools = [t for t in body.get("tools") or [] if isinstance(t, dict)]
    if tools and all(t.get("defer_loading") is True for t in tools):
        raise invalid(
            "At least one tool must have defer_loading=false. All tools cannot be deferred."
        )
    for i, tool in enumerate(tools):
        if str(tool.get("type", "")).startswith("memory_") and tool.get("name") != "memory":
            raise invalid(f"tools.{i}.name: the memory tool must be named 'memory'")
    names = {t.get("name") for t in tools}
    for message in body.get("messages") or []:
        for block in _blocks(message):
            for ref in _references(block):
                if ref.get("tool_name") not in names:
                    raise invalid(
                        f"Tool reference '{ref.get('tool_name')}' not found in available tools"
                    )


def _references(block: dict) -> list[dict]:
    """The ``tool_reference`` blocks a block carries: in a tool result's content, or in a
    tool search result's ``tool_references``."""
    refs = [b for b in _nested(block) if b.get("type") == "tool_reference"]
    content = block.get("content")
    if isinstance(content, dict):
        refs += [r for r in content.get("tool_references") or [] if isinstance(r, dict)]
    return refs


def _check_thinking_unmodified(messages: list[dict], display: str) -> None:
    """A request continuing a tool loop sends the latest assistant turn's thinking as it was
    returned. Only the simulator's own signatures can be checked (they hold the thinking);
    under an omitted display, text in the field is ignored rather than refused."""
    said = [m for m in messages if m.get("role") != "system"]
    if len(said) < 2 or said[-1].get("role") != "user":
        return
    if not any(b.get("type") == "tool_result" for b in _blocks(said[-1])):
        return
    if said[-2].get("role") != "assistant" or display == "omitted":
        return
    for block in _blocks(said[-2]):
        if block.get("type") != "thinking":
            continue
        held = original(block.get("signature"))
        if held is not None and block.get("thinking") not in ("", held):
            raise invalid(
                "messages: `thinking` or `redacted_thinking` blocks in the latest assistant "
                "message cannot be modified. These blocks must remain as they were in the "
                "original response."
            )
