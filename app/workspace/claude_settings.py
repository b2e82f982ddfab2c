"""The API's rules for Claude's settings, as changes to a conversation: thinking (the budget
under ``max_tokens``), effort (per turn where the model takes system messages, so the cache is
kept), what a model switch must drop, and a choice of tools (as definitions, or as tool changes
that keep the cache). Pure functions of the model and the conversation."""

from __future__ import annotations

from dataclasses import dataclass

from app.conversation.blocks import tool_change
from app.conversation.conversation import Conversation
from app.facts.catalogue import ModelInfo


@dataclass(frozen=True)
class ToolChoice:
    tools: tuple  # the definitions to send
    changes: tuple  # the tool_removal / tool_addition blocks that make the choice from here on
    can_withdraw: bool  # whether the changes alone can make it (keeping the cache)


def thinking_changes(
    conv: Conversation, kind: str | None, budget: int = 0, model: ModelInfo | None = None
) -> dict:
    """The changes that choose a thinking mode: ``None`` the model's default; "enabled" with a
    ``budget`` also raises ``max_tokens`` above it (the budget must be below ``max_tokens``,
    thinking.md), with 1,024 tokens left for the answer. The window shows Claude's thinking, so
    on a model whose thinking ``display`` defaults to "omitted" (thinking.md, "Controlling
    thinking display") the choice asks for "summarized"."""
    shown = (
        {"display": "summarized"}
        if model is not None and model.thinking_display == "omitted" and kind in SHOWN
        else {}
    )
    if kind == "enabled":
        max_tokens = max(conv.max_tokens, budget + 1024)
        thinking = {"type": "enabled", "budget_tokens": budget, **shown}
        return {"thinking": thinking, "max_tokens": max_tokens}
    return {"thinking": None if kind is None else {"type": kind, **shown}}


SHOWN = ("adaptive", "enabled")  # the modes ``display`` goes with (thinking.md)


def effort_changes(conv: Conversation, model: ModelInfo, level: str | None) -> dict:
    """The changes that choose an effort (``None``: the model's default). Once the
    conversation has a reply, on a model that takes system messages the new effort goes per
    turn (a system message's ``output_config`` after each user turn): the prefix written at
    the old effort stays cached. Otherwise the top-level effort changes, and with it the
    messages' cache (prompt-caching.md, "What invalidates the cache")."""
    replied = any(m.role == "assistant" for m in conv.messages)
    if replied and model.system_messages and model.effort is not None:
        wanted = level or model.effort.default
        in_prefix = conv.effort or model.effort.default
        return {"turn_effort": None if wanted == in_prefix else wanted}
    return {"effort": level, "turn_effort": None}


def fit_to_model(conv: Conversation, model: ModelInfo) -> list[str]:
    """After a model change: drop a thinking type or effort the model does not take (its
    capabilities); returns what was dropped."""
    dropped = []
    accepts = model.thinking.accepts if model.thinking else ()
    if conv.thinking and conv.thinking.get("type") not in accepts:
        dropped.append(f"thinking {conv.thinking.get('type')}")
        conv.thinking = None
    if conv.turn_effort and not model.system_messages:  # per turn only where it can be
        conv.effort, conv.turn_effort = conv.turn_effort, None
    if conv.effort and (model.effort is None or conv.effort not in model.effort.levels):
        dropped.append(f"effort {conv.effort}")
        conv.effort = None
    if conv.turn_effort and conv.turn_effort not in model.effort.levels:
        dropped.append(f"effort {conv.turn_effort}")
        conv.turn_effort = None
    return dropped


def tool_choice(conv: Conversation, model: ModelInfo, offered: list, names: set[str]) -> ToolChoice:
    """What choosing the tools ``names`` among ``offered`` (built-in and MCP definitions)
    sends: the definitions (the user's own JSON tools kept), and the ``tool_removal`` /
    ``tool_addition`` blocks that make the same choice from here on without touching the
    cached definitions (mid-conversation-system-messages.md), when the model takes them."""
    by_name = {t.name: t for t in offered}
    kept = [t for t in conv.tools if t.name not in by_name]
    declared, withdrawn = {t.name for t in conv.tools}, conv.withdrawn_tools()
    # A tool a sent tool change names stays declared: the API refuses a reference to a tool
    # that is not in ``tools`` (it stays withdrawn).
    sending = names | (withdrawn & by_name.keys() & declared)
    tools = tuple(sorted(kept + [by_name[n] for n in sending], key=lambda t: t.name))
    live = declared - withdrawn
    changes = [tool_change("tool_removal", n) for n in sorted(live & by_name.keys() - names)]
    changes += [tool_change("tool_addition", n) for n in sorted(withdrawn & names)]
    can_withdraw = bool(
        changes and declared.issuperset(names) and model.system_messages and conv.messages
    )
    return ToolChoice(tools, tuple(changes), can_withdraw)
