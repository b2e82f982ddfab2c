"""The miss explainer: one plain sentence, and the data behind it, for a turn that read less than
it could have."""

from __future__ import annotations

from dataclasses import dataclass, replace

from app.caching.builder import BuiltRequest
from app.caching.ledger import CacheLedger, Usage
from app.facts.rules import LOOKBACK_BLOCKS, CachePlan, plan_request


@dataclass(frozen=True)
class Explanation:
    cause: str
    sentence: str
    read_tokens: int
    possible_tokens: int  # what could have been read had nothing changed or expired
    matching_prefix_tokens: int  # tokens shared with the previous request, from the start
    first_difference: str | None = None  # path of the first block that differs
    age_s: float | None = None
    ttl: str | None = None

    @property
    def is_miss(self) -> bool:
        return is_miss(self.cause)


# Causes of a turn that read all it could: nothing to blame (under the model's minimum, or a
# pattern that places no breakpoint, is not a miss: there was nothing cached to read; a
# compaction or a context edit the user asked for rewrites what it replaced, by design).
NOT_MISSES = frozenset(
    {"", "none", "too_short", "no_breakpoints", "branch", "compacted", "context_edited"}
)


def is_miss(cause: str) -> bool:
    """A miss is a turn that could have read more than it did."""
    return cause not in NOT_MISSES


def as_branch(found: Explanation, index: int) -> Explanation:
    """A turn that starts a new branch (edit and resend, regenerate) at message ``index``:
    what it did not read is what the user replaced, not a miss."""
    if found.cause not in ("volatile_breakpoint", "message_edited"):
        return found
    return replace(
        found,
        cause="branch",
        sentence=f"A new branch from message {index + 1}: it read the {found.read_tokens:,} "
        "tokens it shares with the earlier path, up to the last breakpoint before the fork; "
        "the earlier path is kept.",
    )


def common_blocks(a: BuiltRequest, b: BuiltRequest) -> int:
    """How many blocks two requests share from the start (same fingerprints)."""
    count = 0
    for x, y in zip(a.flat.blocks, b.flat.blocks, strict=False):
        if x.fingerprint != y.fingerprint:
            break
        count += 1
    return count


def _written_at(built: BuiltRequest) -> list[int]:
    """The blocks whose prefixes a request writes: its effective breakpoints."""
    plan = plan_request(
        built.flat, list(built.breakpoints), built.model.min_cacheable_tokens, lambda fp: False
    )
    return [p.index for p in plan.effective]


def _written_end(built: BuiltRequest) -> int:
    written = _written_at(built)
    return written[-1] if written else -1


def _classify(previous: BuiltRequest, current: BuiltRequest, index: int) -> tuple[str, str]:
    if index >= len(current.flat.blocks):
        return "message_edited", "the conversation was cut before that point"
    block = current.flat.blocks[index]
    old = previous.flat.blocks[index] if index < len(previous.flat.blocks) else None
    level = block.facts.level
    old_level = old.facts.level if old else None
    if level == "tools" or old_level == "tools":
        return "tools_changed", f"the tool definitions changed at {block.path}"
    contexts_now, contexts_then = current.flat.level_contexts, previous.flat.level_contexts
    if level == "system" or old_level == "system":
        if contexts_now["system"] != contexts_then["system"]:
            return "system_settings_changed", "web search or citations were switched"
        return "system_changed", "the system prompt was edited"
    if contexts_now["system"] != contexts_then["system"]:
        return "system_settings_changed", "web search or citations were switched"
    first_message = current.flat.first_index_of("messages")
    if index == first_message and contexts_now["messages"] != contexts_then["messages"]:
        if current.body.get("tool_choice") != previous.body.get("tool_choice"):
            return "tool_choice_changed", "tool_choice changed"
        return "thinking_changed", "extended thinking was switched or its budget changed"
    if block.facts.kind == "image" and old is not None and old.facts.kind == "image":
        return "image_changed", f"the image at {block.path} has different bytes"
    if (
        old is not None
        and old.facts.kind in ("thinking", "redacted_thinking")
        and block.facts.stripped
        and not old.facts.stripped
    ):
        return "thinking_dropped", (
            f"{current.model.display_name} drops earlier turns' thinking once a new user turn "
            f"follows (thinking.md), so the prompt changed at {block.path}"
        )
    return "message_edited", f"an earlier message was edited at {block.path}"


def explain(
    current: BuiltRequest,
    usage: Usage,
    predicted: CachePlan,
    previous: BuiltRequest | None,
    ledger: CacheLedger,
    sent_while_writing: bool = False,
) -> Explanation:
    """Why ``current`` read ``usage.read`` tokens and not more.

    Call it before ``ledger.record`` of this response, so the ledger still shows what was
    cached (or had expired) when the request was sent.
    """
    blocks = current.flat.blocks
    model = current.model
    read = usage.read
    common = common_blocks(previous, current) if previous else 0
    matching = blocks[common - 1].cumulative if common else 0
    known = max(
        (b.cumulative for b in blocks if ledger.find(model.id, b.fingerprint) is not None),
        default=0,
    )
    previous_end = _written_end(previous) if previous is not None else -1
    counterfactual = 0
    if previous_end >= 0:
        counterfactual = min(
            previous.flat.blocks[previous_end].cumulative, current.flat.total_tokens
        )
    possible = max(known, counterfactual, predicted.read_tokens)

    def result(cause, sentence, **extra) -> Explanation:
        return Explanation(cause, sentence, read, possible, matching, **extra)

    if read < predicted.read_tokens:
        if sent_while_writing:
            return result(
                "in_flight",
                f"Read {read:,} of the {predicted.read_tokens:,} tokens "
                "expected: the request that writes them had not answered yet.",
            )
        return result(
            "server_read_less",
            f"The server read {read:,} tokens, less than the "
            f"{predicted.read_tokens:,} predicted (an eviction, or another client).",
        )
    if read >= possible:
        if not current.breakpoints and current.too_short_tokens:
            return result(
                "too_short",
                f"The prefix ({current.too_short_tokens:,} tokens) is "
                f"under {model.display_name}'s minimum of "
                f"{model.min_cacheable_tokens:,}, so it was not marked for caching.",
            )
        if not current.breakpoints:
            return result("no_breakpoints", "No block carries a breakpoint, so nothing is cached.")
        if predicted.too_short and not predicted.effective:
            return result(
                "too_short",
                f"The prefix ({blocks[predicted.too_short[-1].index].cumulative:,} "
                f"tokens) is under {model.display_name}'s minimum of "
                f"{model.min_cacheable_tokens:,}, so nothing was cached.",
            )
        if read == 0:
            return result("none", "First request with this prefix: written for the next turn.")
        return result("none", f"Read {read:,} tokens from cache: all that could be read.")
    if previous is not None and previous.model.id != model.id:
        return result(
            "model_switched",
            f"The model changed from {previous.model.display_name} to "
            f"{model.display_name}; each model has its own cache.",
        )
    if previous is not None and common <= previous_end:
        path = blocks[common].path if common < len(blocks) else None
        written = _written_at(previous)
        if (
            common in written
            and not any(i < common for i in written)
            and matching >= model.min_cacheable_tokens
            and blocks[common].facts.level == "messages"
        ):
            return result(
                "volatile_breakpoint",
                f"The breakpoint is on content that changes every request ({path}): entries "
                f"are written only at breakpoints, so the {matching:,} tokens before it that "
                "stayed the same were never cached. Put the breakpoint on the last block that "
                "stays the same.",
                first_difference=path,
            )
        cause, what = _classify(previous, current, common)
        return result(
            cause,
            (
                f"Only {matching:,} tokens matched the previous request"
                if matching
                else "Nothing matched the previous request"
            )
            + f": {what}, so everything after it was written again.",
            first_difference=path,
        )
    tomb = None
    for block in reversed(blocks):
        if block.cumulative <= read:
            break
        entry = ledger.find(model.id, block.fingerprint)
        if entry is not None and entry.expires_at <= ledger.clock():
            tomb = entry
            break
    if tomb is not None:
        age = ledger.clock() - tomb.last_used_at
        return result(
            "expired",
            f"The cached prefix of {tomb.tokens:,} tokens expired: last used "
            f"{age / 60:.1f} min ago with a {tomb.ttl} lifetime.",
            age_s=age,
            ttl=tomb.ttl,
        )
    if predicted.too_short and not predicted.effective:
        return result(
            "too_short",
            f"The prefix is under {model.display_name}'s minimum of "
            f"{model.min_cacheable_tokens:,} tokens, so the breakpoints were ignored.",
        )
    lowest = min((b.index for b in predicted.effective), default=0) - (LOOKBACK_BLOCKS - 1)
    for block in reversed(blocks[: max(0, lowest)]):
        if block.cumulative > read and ledger.is_cached(model.id, block.fingerprint):
            return result(
                "lookback",
                f"No entry was written within {LOOKBACK_BLOCKS} blocks of the breakpoint: the "
                f"nearest, {block.cumulative:,} tokens at {block.path}, is past the service's "
                "lookback. A breakpoint nearer to it (or fewer new blocks a turn) reads it.",
            )
    if sent_while_writing:
        return result("in_flight", "Sent before the request that writes this prefix had answered.")
    return result(
        "unknown", f"Read {read:,} of {possible:,} tokens for a reason Cachescope could not tell."
    )
