"""What a turn asks of the API's context management, and what the API did
(build-with-claude/compaction.md, build-with-claude/context-editing.md).

- A turn the user asked to compact carries the ``compact_20260112`` edit with the lowest trigger
  the API takes (50,000 input tokens), so the request the user sends is the one compacted; with
  tools it carries the docs' instructions not to call one while summarizing (compaction.md,
  "Current limitations": else the block may come back without a summary).
- Its response holds the compaction iteration's usage apart from the top-level one
  (``usage.iterations``, "Understanding usage"), and the ``compaction`` block.
- The ledger is told what each iteration read and wrote: the compaction iteration read the
  request as sent; the message iteration read the tools, the system prompt and the new summary
  (``RequestBuilder.compacted``), which is also what the next turn's request begins with.
"""

from __future__ import annotations

from dataclasses import replace

from app.caching.builder import BuiltRequest, RequestBuilder
from app.caching.costs import added, cost_of
from app.caching.explainer import Explanation, common_blocks, explain
from app.caching.ledger import CacheLedger, Usage
from app.conversation.conversation import Conversation
from app.facts.catalogue import ModelInfo
from app.facts.context_management import (
    CLEAR_THINKING,
    CLEAR_TOOLS,
    COMPACT,
    DEFAULT_CLEAR_TRIGGER,
    DEFAULT_KEEP_TOOL_USES,
    MIN_COMPACT_TRIGGER,
    is_summary,
)
from app.facts.tokens import text_tokens

TOOL_RESULTS = "tool_results"  # what a conversation's ``context_editing`` may hold
THINKING = "thinking"

# compaction.md, "Current limitations": the docs' own example of instructions that keep the
# model from calling a tool while it summarizes.
NO_TOOLS_INSTRUCTIONS = (
    "Summarize the transcript inside <summary></summary> tags. Include relevant information in "
    "the summary for continuing the task in the next context window. Do not call any tools "
    "while writing this summary; respond with text only."
)


def compaction_edit(has_tools: bool) -> dict:
    """The edit that makes this request compact (its prompt is over the trigger: the offer
    comes at a large share of the context window, and ``Chat.compact`` refuses under it)."""
    trigger = {"type": "input_tokens", "value": MIN_COMPACT_TRIGGER}
    edit: dict = {"type": COMPACT, "trigger": trigger}
    if has_tools:
        edit["instructions"] = NO_TOOLS_INSTRUCTIONS
    return edit


def clearing_edits(
    conversation: Conversation, model: ModelInfo | None, least: int
) -> tuple[dict, ...]:
    """The clearing edits every request of the conversation carries (its warm-ups and pings
    too, so they write what its turns read), as the user chose them (``context_editing``; off
    by default: docs/choices.md). Thinking first, as context-editing.md requires; thinking only
    while the model thinks; the tool-result edit with its defaults spelled out and
    ``clear_at_least`` (``least``)."""
    chosen = conversation.context_editing
    edits = []
    default = model.thinking.default if model is not None and model.thinking else "disabled"
    if THINKING in chosen and (conversation.thinking or {}).get("type", default) != "disabled":
        edits.append({"type": CLEAR_THINKING, "keep": {"type": "thinking_turns", "value": 1}})
    if TOOL_RESULTS in chosen:
        edits.append(
            {
                "type": CLEAR_TOOLS,
                "trigger": {"type": "input_tokens", "value": DEFAULT_CLEAR_TRIGGER},
                "keep": {"type": "tool_uses", "value": DEFAULT_KEEP_TOOL_USES},
                "clear_at_least": {"type": "input_tokens", "value": least},
            }
        )
    return tuple(edits)


def _get(value, key: str):
    return value.get(key) if isinstance(value, dict) else getattr(value, key, None)


def compaction_usage(usage) -> Usage | None:
    """The compaction iterations' usage summed (None: the request did not compact), from the
    SDK's usage object or the API's usage dict."""
    found = None
    for iteration in _get(usage, "iterations") or ():
        if _get(iteration, "type") == "compaction":
            found = added(Usage.from_api(iteration), found)
    return found


def _as_dict(value) -> dict:
    if isinstance(value, dict):
        return value
    return value.model_dump(mode="json", exclude_none=True)


def applied_edits(message) -> tuple[dict, ...]:
    """``context_management.applied_edits`` of a response (context-editing.md, "Context editing
    response"), as the API reported them."""
    applied = _get(_get(message, "context_management"), "applied_edits") or ()
    return tuple(_as_dict(e) for e in applied)


def summary_of(content) -> dict | None:
    """The response's last ``compaction`` block that holds a summary, as sent."""
    blocks = [_as_dict(b) for b in content or () if _get(b, "type") == "compaction"]
    found = [b for b in blocks if is_summary(b)]
    return found[-1] if found else None


def summary_tokens(block: dict | None) -> int:
    return text_tokens(str((block or {}).get("content") or ""))


def settle(
    ledger: CacheLedger,
    builder: RequestBuilder,
    built: BuiltRequest,
    final,
    usage: Usage,
    found: Explanation | None,
    sent_at: float,
) -> tuple[BuiltRequest, Explanation | None]:
    """A request that asked to compact has answered: the ledger records what each iteration
    read and wrote; returns the request the next turn follows (what the model last read) and
    the turn's explanation. ``found``: the explainer's word on the compaction iteration."""
    compaction = compaction_usage(final.usage)
    block = summary_of(final.content)
    if compaction is None or block is None:  # under the trigger by the API's count
        ledger.record(built, usage, sent_at)
        sentence = (
            "Compaction was asked for but the API did not compact: it counted the prompt under "
            f"the {MIN_COMPACT_TRIGGER:,}-token trigger, or the summary failed; nothing was "
            "dropped."
        )
        return built, _with_sentence(found, usage, sentence)
    ledger.record(built, compaction, sent_at)
    seen = builder.compacted(built, block)
    ledger.record(seen, usage, sent_at)
    tokens = summary_tokens(block)
    sentence = (
        f"Compacted: the API read the conversation's {compaction.input_total:,} tokens "
        f"({compaction.read:,} from cache) and wrote a summary of about {tokens:,} tokens; the "
        f"reply was written from it. From now on requests send the summary and what follows "
        f"({usage.input_total:,} tokens here) instead; the conversation stays on screen."
    )
    return seen, _with_sentence(found, usage, sentence)


def _with_sentence(found: Explanation | None, usage: Usage, sentence: str) -> Explanation:
    if found is None:
        return Explanation("compacted", sentence, usage.read, usage.read)
    if found.is_miss:  # the compaction iteration itself read less than it could have
        return replace(found, sentence=f"{sentence} {found.sentence}")
    return replace(found, cause="compacted", sentence=sentence)


def explain_compaction(
    built: BuiltRequest, final, plan, previous, ledger: CacheLedger, writing_elsewhere: bool
) -> Explanation | None:
    """The explainer's word on what the compaction iteration read (the request as sent, whose
    prediction ``plan`` is), before the ledger records it."""
    compaction = compaction_usage(final.usage)
    if compaction is None:
        return None
    return explain(built, compaction, plan, previous, ledger, writing_elsewhere)


CLEARED_WORDS = {
    CLEAR_TOOLS: ("cleared_tool_uses", "tool result", "tool results"),
    CLEAR_THINKING: ("cleared_thinking_turns", "turn's thinking", "turns' thinking"),
}


def cleared_words(edits: tuple[dict, ...]) -> str:
    """ "2 tool results (14,020 tokens)": what the applied edits cleared."""
    parts = []
    for edit in edits:
        field, one, several = CLEARED_WORDS.get(edit.get("type"), ("", "", ""))
        if field:
            count = int(edit.get(field) or 0)
            tokens = int(edit.get("cleared_input_tokens") or 0)
            parts.append(f"{count:,} {one if count == 1 else several} ({tokens:,} tokens)")
    return " and ".join(parts)


def clearing_effect(
    built: BuiltRequest,
    previous: BuiltRequest | None,
    usage: Usage,
    edits: tuple[dict, ...],
    found: Explanation | None,
) -> tuple[Explanation | None, int, float]:
    """What clearing cost this turn (context-editing.md, "Context editing and prompt caching":
    it "invalidates cached prompt prefixes when content is cleared"): the tokens the previous
    request had sent that this one wrote to the cache again because the prompt changed at a
    newly cleared block, their price beyond reading them, and the turn's explanation in those
    words. Nothing is counted when the previous request's content came through unchanged (the
    same blocks cleared as before)."""
    words = cleared_words(edits)
    if not words or previous is None or not previous.numbers:
        return found, 0, 0.0
    last = previous.numbers[-1]  # the previous request's messages end there
    blocks = built.flat.blocks
    old = [b for b in blocks if b.facts.message_index is None or b.facts.message_index <= last]
    end = old[-1].cumulative if old else 0
    common = common_blocks(previous, built)
    if common >= len(old):  # nothing it had sent changed: no rewrite
        return found, 0, 0.0
    rewritten = max(0, min(usage.read + usage.write, end) - usage.read)
    one_hour = usage.write_1h > usage.write_5m
    written = Usage(write_1h=rewritten) if one_hour else Usage(write_5m=rewritten)
    extra = (
        cost_of(written, built.model).paid_usd
        - cost_of(Usage(read=rewritten), built.model).paid_usd
    )
    sentence = (
        f"Context editing cleared {words}; the prompt changed where it cleared, so "
        f"{rewritten:,} tokens that were cached were written again (${extra:.4f} more than "
        "reading them); what was cleared is no longer sent to the model."
    )
    if found is None:
        return Explanation("context_edited", sentence, usage.read, usage.read), rewritten, extra
    return replace(found, cause="context_edited", sentence=sentence), rewritten, extra
