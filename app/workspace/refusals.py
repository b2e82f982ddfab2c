"""Sends the API would refuse, refused before anything goes out, each with the sentence the user
sees and what to do instead (the draft stays)."""

from __future__ import annotations

from dataclasses import replace

from app.engine.engine import Engine
from app.engine.session import Session
from app.facts.large_parts import what_is_large


class ChatRefusal(ValueError):
    """An intent that cannot run now, with the sentence the user sees."""


def refuse_what_the_api_would(engine: Engine, session: Session) -> None:
    """The model retired, a forced tool choice it refuses, or instructions it does not take."""
    refuse_a_retired_model(engine, session)
    refuse_a_forced_tool_choice(engine, session)
    refuse_system_messages_the_model_refuses(engine, session)


def refuse_a_retired_model(engine: Engine, session: Session) -> None:
    """A send the API would refuse (404) is not sent: say so, and what to use instead."""
    model = engine.resolve_model(session.conversation.model)
    if model is None or not model.retired:
        return
    successor = engine.resolve_model(model.successor) if model.successor else None
    instead = (
        f" Switch to {successor.display_name}, its successor (Model, in the toolbar)."
        if successor is not None
        else " Pick another model in the toolbar."
    )
    when = f" on {model.retires_at[:10]}" if model.retires_at else ""
    raise ChatRefusal(
        f"{model.display_name} was retired{when}: the API no longer answers it.{instead}"
    )


def refuse_a_forced_tool_choice(engine: Engine, session: Session) -> None:
    """A tool choice that forces a call is a 400 with extended thinking (define-tools.md) and
    on the models whose data says they refuse it: not sent."""
    conv = session.conversation
    if (conv.tool_choice or {}).get("type") not in ("any", "tool"):
        return
    model = engine.resolve_model(conv.model)
    if (conv.thinking or {}).get("type") == "enabled":
        raise ChatRefusal(
            "A tool choice that forces a tool call cannot go with extended thinking: the API "
            "would refuse it. Choose adaptive thinking, or let Claude choose its tools."
        )
    if model is not None and model.refuses_forced_tool_choice:
        raise ChatRefusal(
            f"{model.display_name} refuses a tool choice that forces a tool call: the API "
            "would refuse the request. Let Claude choose its tools (auto)."
        )


def refuse_system_messages_the_model_refuses(engine: Engine, session: Session) -> None:
    """Instructions added mid-conversation are a 400 on a model without system messages
    (mid-conversation-system-messages.md): not sent; the user chooses what to do."""
    model = engine.resolve_model(session.conversation.model)
    if model is None or model.system_messages:
        return
    if any(m.role == "system" and m.blocks for m in session.conversation.messages):
        raise ChatRefusal(
            f"This conversation holds instructions added mid-conversation, which "
            f"{model.display_name} does not take: the API would refuse it. Switch back to "
            "the model they were written for, or start a new conversation."
        )


def refuse_a_prompt_too_long(
    engine: Engine, session: Session, text: str, attachments: tuple, editing: int | None
) -> None:
    """A prompt over the model's context window is a 400 ("prompt is too long",
    context-windows.md): it is not sent, and the draft stays. The sentence names what is
    large."""
    conv = session.conversation
    model = engine.resolve_model(conv.model)
    if model is None:
        return
    trial = replace(conv, messages=list(conv.messages[:editing]))
    trial.add_user_text(text, *attachments)
    flat = engine.build(session, trial).flat
    if flat.total_tokens > model.context_window:
        raise ChatRefusal(
            f"With this message the request is about {flat.total_tokens:,} tokens, more than "
            f"{model.display_name}'s context window of {model.context_window:,}: the API "
            f"would refuse it (prompt is too long). {what_is_large(flat)}"
        )
