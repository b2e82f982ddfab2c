"""Checks of today's top-level request fields, per model: max_tokens (0 included), thinking,
output_config (effort, format), speed, inference_geo, diagnostics, and where a mid-conversation
``role: "system"`` message may stand.

Sources: prompt-caching.md ("Pre-warming the cache": what max_tokens 0 refuses),
thinking-troubleshooting.md (the thinking types each model rejects, with their messages),
effort.md (levels per model), mid-conversation-system-messages.md (models and placement),
cache-diagnostics.md, api/messages/create.md.
"""

from __future__ import annotations

from app.facts.catalogue import ModelInfo
from app.facts.prefix import as_blocks
from app.facts.rules import SERVER_RESULT_KINDS
from app.simulator.errors import invalid

EFFORTS = ("low", "medium", "high", "xhigh", "max")
THINKING_TYPES = ("enabled", "disabled", "adaptive", "between_tools")
SERVER_RESULT_BLOCKS = SERVER_RESULT_KINDS


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_max_tokens(body: dict, model: ModelInfo) -> None:
    if "max_tokens" not in body:
        raise invalid("max_tokens: Field required")
    max_tokens = body["max_tokens"]
    if not _is_int(max_tokens) or max_tokens < 0:
        raise invalid("max_tokens: Input should be greater than or equal to 0")
    if max_tokens > model.max_output_tokens:
        raise invalid(
            f"max_tokens: {max_tokens} > {model.max_output_tokens}, which is the maximum "
            f"allowed number of output tokens for {model.id}"
        )
    if max_tokens == 0:
        check_prewarm(body)


def object_field(body: dict, name: str) -> dict:
    """An optional object field, ``{}`` when absent or null; anything else is the validator's
    400 naming the field."""
    value = body.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise invalid(f"{name}: Input should be a valid dictionary")
    return value


def check_prewarm(body: dict) -> None:
    """What a ``max_tokens: 0`` request may not ask for: each implies output."""
    if body.get("stream"):
        raise invalid("max_tokens: 0 is not supported with `stream: true`")
    if object_field(body, "thinking").get("type") == "enabled":
        raise invalid(
            "max_tokens: 0 is not supported with extended thinking (thinking.type: enabled)"
        )
    if object_field(body, "output_config").get("format"):
        raise invalid(
            "max_tokens: 0 is not supported with structured outputs (output_config.format)"
        )
    if (body.get("tool_choice") or {}).get("type") in ("any", "tool"):
        raise invalid("max_tokens: 0 is not supported with a tool_choice that forces a tool call")


def check_output_config(body: dict, model: ModelInfo) -> str | None:
    """The effort asked for (None when not set)."""
    config = body.get("output_config")
    if config is None:
        return None
    if not isinstance(config, dict):
        raise invalid("output_config: Input should be a valid dictionary")
    for key in config:
        if key not in ("effort", "format"):
            raise invalid(f"output_config.{key}: Extra inputs are not permitted")
    effort = config.get("effort")
    if effort is not None:
        if effort not in EFFORTS:
            raise invalid(
                "output_config.effort: Input should be 'low', 'medium', 'high', 'xhigh' or 'max'"
            )
        if model.effort is None:
            raise invalid(f"output_config.effort: effort is not supported on {model.id}")
        if effort not in model.effort.levels:
            raise invalid(f"output_config.effort: '{effort}' is not supported on {model.id}")
    fmt = config.get("format")
    if fmt is not None:
        if not isinstance(fmt, dict) or fmt.get("type") != "json_schema":
            raise invalid("output_config.format.type: Input should be 'json_schema'")
        if not isinstance(fmt.get("schema"), dict):
            raise invalid("output_config.format.schema: Field required")
    return effort


def _check_block_binding(binding: object, kind: str, model: ModelInfo) -> None:
    """``thinking.block_binding`` (SDK 2.16's BetaThinkingBlockBindingParam; lm-deluge sends it
    for Opus 5.5, Sonnet 5.5 and Fable 5.1): accepted on the models the data says take it, with
    its one field. The conversation check it configures is not modelled: no block fails it."""
    path = f"thinking.{kind}.block_binding"
    if not model.thinking_binding or kind not in ("adaptive", "enabled"):
        raise invalid(f"{path}: not supported with this model and thinking type")
    if not isinstance(binding, dict):
        raise invalid(f"{path}: Input should be a valid dictionary")
    for key, value in binding.items():
        if key != "prefix_mismatch_behavior":
            raise invalid(f"{path}.{key}: Extra inputs are not permitted")
        if value not in (None, "error", "drop_block"):
            raise invalid(f"{path}.{key}: Input should be 'error' or 'drop_block'")


def check_thinking(body: dict, model: ModelInfo, effort: str | None, needs_max: bool) -> None:
    thinking = body.get("thinking")
    if thinking is None:
        return
    if not isinstance(thinking, dict):
        raise invalid("thinking: Input should be a valid dictionary")
    if thinking.get("type") not in THINKING_TYPES:
        raise invalid("thinking.type: Input should be 'enabled', 'disabled' or 'adaptive'")
    kind = thinking["type"]
    for key in thinking:
        if key not in ("type", "budget_tokens", "display", "block_binding"):
            raise invalid(f"thinking.{kind}.{key}: Extra inputs are not permitted")
    if "block_binding" in thinking:
        _check_block_binding(thinking["block_binding"], kind, model)
    if "display" in thinking and thinking["display"] not in ("summarized", "omitted"):
        raise invalid(f"thinking.{kind}.display: Input should be 'summarized' or 'omitted'")
    if kind == "disabled" and thinking.get("display") is not None:  # thinking.md, "display"
        raise invalid("thinking.disabled.display: display is invalid with thinking disabled")
    accepts = model.thinking.accepts if model.thinking else ("disabled",)
    if kind not in accepts:
        if kind == "enabled":
            raise invalid(
                '"thinking.type.enabled" is not supported for this model. Use '
                '"thinking.type.adaptive" and "output_config.effort" to control thinking '
                "behavior."
            )
        if kind == "disabled":
            raise invalid(
                '"thinking.type.disabled" is not supported for this model. Thinking defaults '
                "to adaptive mode when not specified."
            )
        if kind == "adaptive":
            raise invalid("adaptive thinking is not supported on this model")
        raise invalid(f'"thinking.type.{kind}" is not supported for this model.')
    if kind == "disabled" and effort in ("xhigh", "max") and model.thinking.default == "adaptive":
        raise invalid(f"thinking cannot be disabled at effort '{effort}' on {model.id}")
    if kind == "enabled":
        budget = thinking.get("budget_tokens")
        if not _is_int(budget) or budget < 1024:
            raise invalid(
                "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"
            )
        if needs_max and body.get("max_tokens", 0) and budget >= body["max_tokens"]:
            raise invalid("`max_tokens` must be greater than `thinking.budget_tokens`.")


def check_forced_tool_choice(body: dict, model: ModelInfo) -> None:
    """A tool_choice that forces a call: a 400 with manual extended thinking on every model
    (define-tools.md, thinking.md "Tool choice limitation") and on the models whose data says
    they refuse it."""
    if (body.get("tool_choice") or {}).get("type") not in ("any", "tool"):
        return
    if (body.get("thinking") or {}).get("type") == "enabled":
        raise invalid(
            "tool_choice: Thinking may not be enabled when tool_choice forces tool use. Use "
            "tool_choice 'auto' or 'none', or adaptive thinking."
        )
    if model.refuses_forced_tool_choice:
        raise invalid(
            f"tool_choice: {model.id} does not support a tool_choice that forces tool use "
            "('any' or 'tool'); use 'auto' or 'none'"
        )


def speed_used(body: dict, model: ModelInfo) -> str:
    """The speed a request runs at (fast-mode.md): "fast" only where the model has fast mode;
    Opus 4.6 runs a fast request at standard speed; elsewhere ``speed: fast`` is a 400."""
    if body.get("speed") != "fast":
        return "standard"
    if model.fast_mode is None:
        raise invalid(f"speed: fast mode is not supported on {model.id}")
    return model.fast_mode


def check_misc(body: dict) -> None:
    if "speed" in body and body["speed"] not in ("standard", "fast", None):
        raise invalid("speed: Input should be 'standard' or 'fast'")
    if "inference_geo" in body and not isinstance(body["inference_geo"], str | None):
        raise invalid("inference_geo: Input should be a valid string")
    if "diagnostics" in body and body["diagnostics"] is not None:
        diag = body["diagnostics"]
        if not isinstance(diag, dict):
            raise invalid("diagnostics: Input should be a valid dictionary")
        for key in diag:
            if key != "previous_message_id":
                raise invalid(f"diagnostics.{key}: Extra inputs are not permitted")
        previous = diag.get("previous_message_id")
        if previous is not None and not isinstance(previous, str):
            raise invalid("diagnostics.previous_message_id: Input should be a valid string")


def _ends_in_server_result(message: dict) -> bool:
    blocks = as_blocks(message.get("content"))
    return bool(blocks) and blocks[-1].get("type") in SERVER_RESULT_BLOCKS


def check_tool_references(body: dict) -> None:
    """A ``tool_addition`` / ``tool_removal`` naming a tool (``tool_reference``) not declared in
    ``tools`` is refused (mid-conversation-system-messages.md, "Mid-conversation tool changes")."""
    declared = {t.get("name") for t in body.get("tools") or [] if isinstance(t, dict)}
    for i, message in enumerate(body.get("messages") or []):
        if message.get("role") != "system":
            continue
        for j, block in enumerate(as_blocks(message.get("content"))):
            if not isinstance(block, dict):
                continue
            tool = block.get("tool") if block.get("type") in TOOL_CHANGES else None
            reference = isinstance(tool, dict) and tool.get("type") == "tool_reference"
            if reference and tool.get("name") not in declared:
                raise invalid(
                    f"messages.{i}.content.{j}.tool.name: {tool.get('name')!r} is not "
                    "declared in `tools`"
                )


TOOL_CHANGES = ("tool_addition", "tool_removal")


def check_system_messages(messages: list[dict], model: ModelInfo) -> None:
    """Where ``role: "system"`` may stand: after a user turn (or an assistant turn ending in a
    server tool result), before an assistant turn or last; never first; consecutive system
    messages count as one section."""
    for i, message in enumerate(messages):
        if message.get("role") != "system":
            continue
        path = f"messages.{i}"
        if not model.system_messages:
            raise invalid(
                f"{path}.role: system messages in `messages` are not supported on {model.id}; "
                "use the top-level `system` field"
            )
        if i == 0:
            raise invalid(f"{path}.role: a system message cannot be the first message")
        before = i - 1
        while before >= 0 and messages[before].get("role") == "system":
            before -= 1
        after = i + 1
        while after < len(messages) and messages[after].get("role") == "system":
            after += 1
        prev = messages[before] if before >= 0 else None
        if prev is None or not (
            prev.get("role") == "user"
            or (prev.get("role") == "assistant" and _ends_in_server_result(prev))
        ):
            raise invalid(
                f"{path}: a system message must immediately follow a user turn (or an assistant "
                "turn ending in a server tool result)"
            )
        if after < len(messages) and messages[after].get("role") != "assistant":
            raise invalid(
                f"{path}: a system message must be the last message or be immediately followed "
                "by an assistant turn"
            )
