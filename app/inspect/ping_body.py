"""The body of a keep-alive ping for another program's session: its last cached request, made
the cheapest request that still reads that request's cached prefix.

A ping is the app's own keep-alive request (``app.engine.warming``: ``max_tokens: 0`` and the
conversation up to the breakpoint, then a placeholder user turn when the breakpoint is not in
one). prompt-caching.md, "Pre-warming the cache": with ``max_tokens: 0`` "the API reads your
prompt into the model and writes the cache at any ``cache_control`` breakpoint, then returns
immediately without generating any output" and "zero output tokens are billed"; the breakpoint
sits on the last block shared with the follow-up, not on the placeholder; the thinking
configuration and ``output_config.effort`` stay as they were (they are rendered into the
prompt). It is refused with ``stream: true`` (so the ping never streams), with thinking of type
``enabled``, with ``output_config.format`` and with a forcing ``tool_choice``: a request holding
one of those cannot be kept alive, and ``ping_body`` says why.

Whatever follows the last breakpoint is read in full on every ping (input price), so it is cut:
``cut_body`` keeps the blocks up to the last breakpoint (the user message holding it ends
there); the inspector checks with the app's ledger that the cut body still reads the whole
entry, and falls back to the whole body (``whole_body``) when it would not (a cut that drops
the only image changes the messages' cache, for one)."""

from __future__ import annotations

from app.engine.warming import WARM_TAIL

DROPPED = ("stream", "diagnostics")  # a ping streams nothing and needs no diagnosis


class NoPing(ValueError):
    """A request the API would refuse as a ping: the message says why."""


def refusal(body: dict) -> str | None:
    """Why ``max_tokens: 0`` would be refused for this request (prompt-caching.md,
    "Pre-warming the cache"), or None."""
    thinking = body.get("thinking")
    if isinstance(thinking, dict) and thinking.get("type") == "enabled":
        return "extended thinking with a budget refuses max_tokens 0"
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") in ("any", "tool"):
        return "a forced tool_choice refuses max_tokens 0"
    config = body.get("output_config")
    if isinstance(config, dict) and config.get("format") is not None:
        return "a structured output format refuses max_tokens 0"
    return None


def whole_body(body: dict) -> dict:
    """The request as it was, as a ping: ``max_tokens: 0``, not streamed."""
    reason = refusal(body)
    if reason is not None:
        raise NoPing(reason)
    out = {k: v for k, v in body.items() if k not in DROPPED}
    out["max_tokens"] = 0
    return out


def _marked(block: object) -> bool:
    return isinstance(block, dict) and isinstance(block.get("cache_control"), dict)


def _is_result(block: object) -> bool:
    return isinstance(block, dict) and block.get("type") == "tool_result"


def _last_breakpoint(messages: list) -> tuple[int, int] | None:
    """(message, block) of the last block carrying ``cache_control`` in ``messages``."""
    for i in range(len(messages) - 1, -1, -1):
        content = messages[i].get("content") if isinstance(messages[i], dict) else None
        if isinstance(content, list):
            for j in range(len(content) - 1, -1, -1):
                if _marked(content[j]):
                    return i, j
    return None


def cut_body(body: dict) -> dict:
    """The ping with nothing after the request's last breakpoint that a valid request can
    leave out: in a user message, the blocks after it but its tool results, and the messages
    after it; in an assistant
    (or mid-conversation system) message, the messages after the next user message, which stays
    whole (it may answer tool calls). A breakpoint only in the tools or the system prompt keeps
    no message but the placeholder user turn (the app's ``WARM_TAIL``). With the top-level
    (automatic) ``cache_control`` the breakpoint is the last block: nothing is cut."""
    out = whole_body(body)
    messages = out.get("messages")
    if out.get("cache_control") or not isinstance(messages, list):
        return out
    found = _last_breakpoint(messages)
    if found is None:
        out["messages"] = [{"role": "user", "content": WARM_TAIL}]
        return out
    i, j = found
    held = messages[i]
    if held.get("role") == "user":
        content = held["content"]
        # Every tool_result answering the calls before it stays: the API refuses a tool_use
        # "without tool_result blocks immediately after" (troubleshooting-tool-use.md).
        answers = [k for k, b in enumerate(content) if _is_result(b)]
        end = max(j, answers[-1]) if answers else j
        out["messages"] = [*messages[:i], {**held, "content": content[: end + 1]}]
        return out
    later = [k for k in range(i + 1, len(messages)) if messages[k].get("role") == "user"]
    if later:
        out["messages"] = messages[: later[0] + 1]
    return out
