"""Why a request read less than the request before it (in the same thread) had cached, and what
that cost.

A request that follows another in one conversation can read everything the earlier one read or
wrote (prompt-caching.md: "the system automatically looks up and uses the longest previously
cached sequence"); when it reads less, the difference was written again or paid in full: a miss.
Its cost is what the request paid over reading those tokens instead (genai-prices at its date).
The reason is named where the log says enough, in this order:

- another model (caches are per model: prompt-caching.md, "Cache storage and sharing");
- a compaction since the previous request (the conversation was replaced by its summary);
- the log's own words, where the program that sent the request explained it (the inspector's
  captured runs, the app's exports);
- a pause past the lifetime of what the previous request cached (5 minutes, or 1 hour when it
  wrote with the 1h TTL; measured from the start of that request: prompt-caching.md, "Cache
  lifetime");
- the conversation went back (a rewind or an edit): the prefix changed at a message path;
- otherwise the log does not say (the system prompt or the tools changed, or the entry was
  evicted: Claude Code's log holds neither the system prompt nor the tools).

A shortfall within 2 % of what was cached is not a miss (``MISS_TOLERANCE``, docs/choices.md).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from app.agents.calls import Call, Pricer
from app.facts.rules import TTL_SECONDS

MISS_TOLERANCE = 0.02


@dataclass(frozen=True)
class Miss:
    request: int  # the request's number in its run (1-based, in time order)
    call: Call
    tokens: int  # what the previous request had cached that this one did not read
    reason: str  # model, effort, compaction, pause, prefix, tools, system, said, unexplained
    words: str
    cost_usd: float | None  # what it paid over reading those tokens
    pause_s: float  # the idle time before it
    expected_read: int  # what the previous request had cached
    ttl: str  # the lifetime of what the previous request had cached
    elapsed_s: float  # since the previous request began

    def as_dict(self) -> dict:
        return {
            "request": self.request,
            "agent": self.call.agent,
            "at": self.call.at,
            "model": self.call.model,
            "tokens": self.tokens,
            "reason": self.reason,
            "words": self.words,
            "cost_usd": None if self.cost_usd is None else round(self.cost_usd, 6),
            "pause_s": round(self.pause_s, 1),
        }


def duration(seconds: float) -> str:
    """ "42 s", "7 min", "3 h 20 min", "2 days"."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        hours, minutes = divmod(int(seconds // 60), 60)
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{seconds / 86400:.0f} days"


def miss_cost(call: Call, tokens: int, pricer: Pricer) -> float | None:
    """What ``call`` paid over reading ``tokens`` more from cache: the same request with those
    tokens read instead of written (its main TTL first) or paid in full."""
    actual = pricer.cost(call.model, call.at, call.usage(), call.terms)
    if actual is None:
        return None
    left = tokens
    counts = {"written_5m": call.written_5m, "written_1h": call.written_1h}
    order = ("written_1h", "written_5m") if call.ttl == "1h" else ("written_5m", "written_1h")
    changed = {}
    for name in order:
        taken = min(left, counts[name])
        changed[name] = counts[name] - taken
        left -= taken
    changed["uncached"] = call.uncached - min(left, call.uncached)
    hit = replace(call, read=call.read + tokens, **changed)
    other = pricer.cost(hit.model, hit.at, hit.usage(), hit.terms)
    return None if other is None else max(0.0, actual - other)


def why(previous: Call, call: Call, lifetime: str) -> tuple[str, str]:
    """The reason kind and its words for a miss of ``call`` after ``previous``."""
    if call.model != previous.model:
        return "model", f"another model ({previous.model} → {call.model})"
    if call.compacted_before:
        return "compaction", "the prefix shrank after a compaction"
    if call.said:  # the explainer of the program that sent it knew more than the timing
        return call.said_kind or _kind_of(call.said), call.said
    elapsed = call.at - previous.at
    if elapsed > TTL_SECONDS[lifetime]:
        idle = max(0.0, call.at - previous.ended)
        return "pause", f"a pause of {duration(idle)} past the {lifetime} TTL"
    if call.branched_at:
        return "prefix", f"the conversation went back: the prefix changed at {call.branched_at}"
    return "unexplained", (
        "the log does not say why (the system prompt or tools changed, or the entry was evicted)"
    )


def _kind_of(said: str) -> str:
    for word, kind in (
        ("model", "model"),
        ("effort", "effort"),
        ("tool", "tools"),
        ("system", "system"),
        ("message", "prefix"),
        ("thinking", "prefix"),
        ("expired", "pause"),
        ("pause", "pause"),
    ):
        if word in said:
            return kind
    return "said"


def find_misses(thread: list[Call], pricer: Pricer, numbers: dict[str, int]) -> list[Miss]:
    """The misses of one thread (its requests in time order); ``numbers`` gives each request's
    number in the run by its key."""
    out = []
    lifetime = "5m"
    for previous, call in zip(thread, thread[1:], strict=False):
        if previous.written:
            lifetime = previous.ttl
        expected = min(previous.cached_after, call.prompt)
        short = expected - call.read
        if short <= max(0, MISS_TOLERANCE * expected):
            continue
        reason, words = why(previous, call, lifetime)
        out.append(
            Miss(
                numbers[call.key],
                call,
                short,
                reason,
                words,
                miss_cost(call, short, pricer),
                max(0.0, call.at - previous.ended),
                expected,
                lifetime,
                call.at - previous.at,
            )
        )
    return out
