"""Anthropic's prompt-caching rules as pure functions over a flattened request.

The simulator applies them to answer requests; the app applies them to its own ledger to
predict what the next request will read and write. One implementation serves both. The rules
are those of prompt-caching.md ("How automatic prefix checking works"):

- a breakpoint writes exactly one entry, for the prefix ending at its block, also when a later
  breakpoint's lookback read past it; nothing is written for any earlier position, and a
  breakpoint whose prefix is under the model's minimum writes nothing;
- reading looks for entries earlier requests wrote: from each breakpoint back one block at a
  time, 20 positions counting the breakpoint itself; the longest match found is the hit;
- read = the hit's tokens, creation = from the hit to the last breakpoint (1h part first),
  input = what follows the last breakpoint.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from app.facts.prefix import FlatRequest

MAX_BREAKPOINTS = 4
LOOKBACK_BLOCKS = 20
TTL_SECONDS = {"5m": 300.0, "1h": 3600.0}


class RuleViolation(ValueError):
    """A request the real API answers with 400 invalid_request_error."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Breakpoint:
    index: int  # index of the block in the FlatRequest
    ttl: str
    automatic: bool = False


@dataclass(frozen=True)
class CachePlan:
    """What a request reads, writes and pays in full, by the rules."""

    breakpoints: tuple[Breakpoint, ...]
    effective: tuple[Breakpoint, ...]  # the breakpoints whose prefix reaches the minimum
    too_short: tuple[Breakpoint, ...]  # ignored: prefix under the model's minimum
    hit_index: int | None  # last block of the prefix read from cache
    read_tokens: int
    write_5m_tokens: int
    write_1h_tokens: int
    uncached_tokens: int
    write_until: int | None  # last block of the prefix written (the last effective breakpoint)
    one_hour_until: int | None  # last block of the part written with the 1h lifetime

    @property
    def write_tokens(self) -> int:
        return self.write_5m_tokens + self.write_1h_tokens

    @property
    def total_input_tokens(self) -> int:
        return self.read_tokens + self.write_tokens + self.uncached_tokens


def _ordering_error(path: str) -> RuleViolation:
    return RuleViolation(
        f"{path}.cache_control.ttl: a ttl='1h' cache_control block must not come after a "
        "ttl='5m' cache_control block. Note that blocks are processed in the following order: "
        "`tools`, `system`, `messages`."
    )


def resolve_breakpoints(flat: FlatRequest, top_level: dict | None) -> list[Breakpoint]:
    """Every breakpoint of the request, the automatic one included, checked against the rules."""
    explicit = [Breakpoint(b.index, b.facts.ttl) for b in flat.blocks if b.facts.ttl]
    found = len(explicit) + (1 if top_level else 0)
    if found > MAX_BREAKPOINTS:
        raise RuleViolation(
            f"A maximum of {MAX_BREAKPOINTS} blocks with cache_control may be provided. "
            f"Found {found}."
        )
    points = list(explicit)
    if top_level:
        ttl = top_level.get("ttl") or "5m"
        carrier = next((b for b in reversed(flat.blocks) if b.facts.can_carry), None)
        if carrier is not None:
            if carrier.facts.ttl is None:
                points.append(Breakpoint(carrier.index, ttl, automatic=True))
                points.sort(key=lambda p: p.index)
            elif carrier.facts.ttl != ttl:
                raise RuleViolation(
                    f"cache_control: the top-level cache_control (ttl='{ttl}') would land on "
                    f"{carrier.path}, which already carries ttl='{carrier.facts.ttl}'."
                )
    seen_5m = False
    for point in points:
        if point.ttl == "5m":
            seen_5m = True
        elif seen_5m:
            path = flat.blocks[point.index].path if not point.automatic else "cache_control"
            raise _ordering_error(path)
    return points


def plan_request(
    flat: FlatRequest,
    breakpoints: list[Breakpoint],
    minimum_tokens: int,
    is_cached: Callable[[str], bool],
) -> CachePlan:
    """Apply lookback, minimum and accounting to a request, given what is cached now.

    ``is_cached(fingerprint)`` says whether a prefix is readable right now.
    """
    blocks = flat.blocks
    effective = tuple(b for b in breakpoints if blocks[b.index].cumulative >= minimum_tokens)
    too_short = tuple(b for b in breakpoints if blocks[b.index].cumulative < minimum_tokens)

    hit: int | None = None
    for point in effective:
        checked = 0
        for i in range(point.index, -1, -1):
            if blocks[i].facts.stripped:
                continue  # not in the prompt: not a position
            if checked == LOOKBACK_BLOCKS or blocks[i].cumulative < minimum_tokens:
                break
            checked += 1
            if is_cached(blocks[i].fingerprint):
                if hit is None or i > hit:
                    hit = i
                break

    read = blocks[hit].cumulative if hit is not None else 0
    if not effective:
        return CachePlan(
            tuple(breakpoints), (), too_short, None, 0, 0, 0, flat.total_tokens, None, None
        )
    last = effective[-1].index
    one_hour = [b.index for b in effective if b.ttl == "1h"]
    one_hour_until = one_hour[-1] if one_hour else None
    written_end = blocks[last].cumulative
    one_hour_end = blocks[one_hour_until].cumulative if one_hour_until is not None else 0
    write_1h = max(0, one_hour_end - read)
    write_5m = max(0, written_end - max(read, one_hour_end))
    return CachePlan(
        breakpoints=tuple(breakpoints),
        effective=effective,
        too_short=too_short,
        hit_index=hit,
        read_tokens=read,
        write_5m_tokens=write_5m,
        write_1h_tokens=write_1h,
        uncached_tokens=flat.total_tokens - max(written_end, read),
        write_until=last,
        one_hour_until=one_hour_until,
    )


def stored_entries(flat: FlatRequest, plan: CachePlan) -> list[tuple[str, int, str]]:
    """The entries a request writes: (fingerprint, tokens, ttl), one per effective breakpoint,
    those at or before the hit included (principle 1: marking a block writes its entry; a pin
    added to a warm conversation gets one although a later breakpoint read past it). What is
    billed does not change: the plan's read and creation say that."""
    return [
        (flat.blocks[p.index].fingerprint, flat.blocks[p.index].cumulative, p.ttl)
        for p in plan.effective
    ]


def refreshed_entries(flat: FlatRequest, plan: CachePlan) -> list[str]:
    """Fingerprints a request reads, and so refreshes: the hit and the effective breakpoints
    within it (their content was used from the cache). A choice: the docs say a read refreshes
    the cached content, without saying which entries."""
    if plan.hit_index is None:
        return []
    points = [flat.blocks[p.index].fingerprint for p in plan.effective if p.index < plan.hit_index]
    return [*points, flat.blocks[plan.hit_index].fingerprint]


SERVER_RESULT_TTL = "5m"
SERVER_RESULT_KINDS = frozenset(  # the content blocks a server tool's result comes in
    {
        "web_search_tool_result",
        "web_fetch_tool_result",
        "code_execution_tool_result",
        "bash_code_execution_tool_result",
        "text_editor_code_execution_tool_result",
        "tool_search_tool_result",
    }
)


def server_result_entry(
    plan: CachePlan, continued: FlatRequest, result_index: int | None
) -> tuple[str, int, str] | None:
    """The entry the API writes at a server tool's result (tool-use-with-prompt-caching.md,
    "Server tool results are cached automatically"): a breakpoint placed on the result before
    the next iteration of the loop, always with the 5-minute TTL, and only when the request
    already carries a ``cache_control`` marker. ``continued`` is the request followed by the
    reply's blocks as the next request sends them; ``result_index`` is the last result's
    block in it (None: no server tool ran)."""
    if result_index is None or not plan.breakpoints:
        return None
    block = continued.blocks[result_index]
    return (block.fingerprint, block.cumulative, SERVER_RESULT_TTL)
