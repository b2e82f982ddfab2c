"""The miss explainer: one plain sentence, and the data behind it, for every turn, and the one
rule for what counts as a miss, used by the window, Other programs and ``cachescope-inspect``.

**A miss is a turn that could have read more than it did** (issue 35, point 5). What it could
have read (``possible_tokens``) is counted in this request's own tokens, up to its last
breakpoint that reaches the model's minimum (nothing after it can be read, by the rules of
prompt-caching.md): the longest prefix of it that an earlier request wrote (an entry that has
since expired, been evicted, or sits beyond the 20-block lookback), or, when this request
changed something (an edit, the model, the tools, a setting) before what the previous request
wrote, that previous entry. A request with no breakpoint reaching the minimum reads nothing and
misses nothing; the first request of a prefix misses nothing. ``is_miss`` of the cause says the
same, so a caller holding only the saved cause (the window's message rows) follows the rule."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

from app.caching.builder import BuiltRequest
from app.caching.divergence import byte_difference, tool_change
from app.caching.ledger import CacheLedger, Usage
from app.caching.strategies import STRATEGIES
from app.facts.rules import LOOKBACK_BLOCKS, CachePlan, plan_request


@dataclass(frozen=True)
class Explanation:
    cause: str
    sentence: str
    read_tokens: int
    possible_tokens: int  # what could have been read had nothing changed or expired
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


def diagnosis_shown(explanation: Explanation | None, diagnosis: str) -> str:
    """The API's own diagnosis (cache-diagnostics.md) is shown only beside a miss: on a turn
    that read all it could, it names a change that cost nothing."""
    return diagnosis if explanation is not None and explanation.is_miss else ""


def _no_breakpoint(current: BuiltRequest) -> str:
    strategy = STRATEGIES.get(current.strategy)
    where = (
        f"{strategy.label} places none here"
        if strategy is not None
        else "the request carries no cache_control"
    )
    return f"No breakpoint: {where}, so nothing is read from the cache or written to it."


# The settings a level's cache depends on besides its blocks (app.facts.prefix.request_contexts),
# in the order a change is named when several changed at once: the cause and its words.
SETTINGS_CHANGED = {
    "web_search": ("system_settings_changed", "web search was switched", "web search"),
    "citations": ("system_settings_changed", "citations were switched", "citations"),
    "speed": ("system_settings_changed", "fast mode was switched", "fast mode"),
    "tool_choice": ("tool_choice_changed", "tool_choice changed", "tool_choice"),
    "images": (
        "images_changed",
        "the first image was added or the last one removed",
        "whether the conversation holds images",
    ),
    "format": ("format_changed", "the structured output format changed", "the output format"),
    "thinking": (
        "thinking_changed",
        "extended thinking was switched or its budget changed",
        "thinking",
    ),
    "effort": ("effort_changed", "the effort changed", "the effort"),
}


def setting_change(
    previous: BuiltRequest, current: BuiltRequest, levels=("tools", "system", "messages")
) -> tuple[str, str, str] | None:
    """The first setting of ``levels`` (in ``SETTINGS_CHANGED``'s order within each) that
    changed: (its key, its cause, the sentence's words), or None. A model's default effort or
    thinking counts as unset, as the prompt renders it."""
    for level in levels:
        then = json.loads(previous.flat.level_contexts.get(level) or "{}")
        now = json.loads(current.flat.level_contexts.get(level) or "{}")
        for key, (cause, words, _noun) in SETTINGS_CHANGED.items():
            if then.get(key) != now.get(key):
                if key == "effort":
                    was, will = then.get(key) or "the default", now.get(key) or "the default"
                    words += f" ({was} → {will})"
                return key, cause, words
    return None


def _setting_change(
    previous: BuiltRequest, current: BuiltRequest, level: str
) -> tuple[str, str] | None:
    """Which of ``level``'s settings changed, as (cause, words), or None."""
    found = setting_change(previous, current, (level,))
    return None if found is None else found[1:]


def _classify(previous: BuiltRequest, current: BuiltRequest, index: int) -> tuple[str, str]:
    if index >= len(current.flat.blocks):
        return "message_edited", "the conversation was cut before that point"
    block = current.flat.blocks[index]
    old = previous.flat.blocks[index] if index < len(previous.flat.blocks) else None
    level = block.facts.level
    old_level = old.facts.level if old else None
    if level == "tools" or old_level == "tools":
        change = tool_change(previous.body, current.body)
        named = f": {change.words()}" if change is not None else ""
        return "tools_changed", f"the tool definitions changed at {block.path}{named}"
    if level == "system" or old_level == "system":
        changed = _setting_change(previous, current, "system")
        if changed is not None:
            return changed
        return (
            "system_changed",
            f"the system prompt was edited at {_where(previous, current, block.path)}",
        )
    changed = _setting_change(previous, current, "system")
    if changed is not None:
        return changed
    if index == current.flat.first_index_of("messages"):
        changed = _setting_change(previous, current, "messages")
        if changed is not None:
            return changed
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
    return (
        "message_edited",
        f"an earlier message was edited at {_where(previous, current, block.path)}",
    )


def _where(previous: BuiltRequest, current: BuiltRequest, path: str) -> str:
    """The path, and the first differing byte with what it was and became when both requests
    hold the block."""
    found = byte_difference(previous.body, current.body, path)
    return found.words() if found is not None else path


def explain(
    current: BuiltRequest,
    usage: Usage,
    predicted: CachePlan,
    previous: BuiltRequest | None,
    ledger: CacheLedger,
    sent_while_writing: bool = False,
) -> Explanation:
    """Why ``current`` read ``usage.read`` tokens and not more (the module says what it could
    have read, and so what a miss is).

    Call it before ``ledger.record`` of this response, so the ledger still shows what was
    cached (or had expired) when the request was sent.
    """
    blocks = current.flat.blocks
    model = current.model
    read = usage.read
    common = common_blocks(previous, current) if previous else 0
    matching = blocks[common - 1].cumulative if common else 0
    # Nothing past the last breakpoint that reaches the minimum can be read.
    last = predicted.effective[-1].index if predicted.effective else -1
    readable = blocks[last].cumulative if last >= 0 else 0
    known = max(
        (
            b.cumulative
            for b in blocks[: last + 1]
            if ledger.find(model.id, b.fingerprint) is not None
        ),
        default=0,
    )
    # Had nothing changed since the previous request: its entries at or before this request's
    # last breakpoint, counted in this request's tokens (another model counts otherwise).
    earlier = [i for i in _written_at(previous) if i <= last] if previous is not None else []
    counterfactual = blocks[earlier[-1]].cumulative if earlier else 0
    possible = min(max(known, counterfactual, predicted.read_tokens), readable)

    def result(cause, sentence, **extra) -> Explanation:
        return Explanation(cause, sentence, read, possible, **extra)

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
            return result("no_breakpoints", _no_breakpoint(current))
        if not predicted.effective:
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
    if earlier and common <= earlier[-1]:
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
    for block in reversed(blocks[: last + 1]):
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
