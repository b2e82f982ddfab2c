"""What a change will cost before it is made (an edit of the system prompt or the tools, a switch
of model, pattern, TTL, thinking or effort): which cached prefix stops matching and what writing
it again costs compared with reading it, and, when the change caches less (or more) of every
request from then on, what each later turn pays more (or less)."""

from __future__ import annotations

from dataclasses import dataclass

from app.caching.builder import BuiltRequest
from app.caching.costs import input_cost_usd
from app.caching.explainer import SETTINGS_CHANGED, common_blocks, setting_change
from app.caching.ledger import CacheLedger, Usage
from app.facts.rules import plan_request

PER_MILLION = 1_000_000


@dataclass(frozen=True)
class Invalidation:
    first_difference: str | None  # path of the first block that changes, None when nothing does
    cached_tokens: int  # the longest live prefix of the request as it is now
    lost_tokens: int  # what the edited request must write again
    extra_usd: float  # what the next turn's input costs more than without the change
    sentence: str
    per_turn_usd: float = 0.0  # what each later turn pays more for it (negative: less)

    @property
    def costs(self) -> bool:
        """Whether it costs money the user should be asked about."""
        return self.lost_tokens > 0 or self.per_turn_usd > 0


def _label(path: str) -> str:
    head = path.split(".")[0]
    if head == "tools":
        return "the tool definitions"
    if head == "system":
        return "the system prompt"
    return f"message {int(path.split('.')[1]) + 1}"


def cacheable_tokens(built: BuiltRequest) -> int:
    """What a request writes up to, so that a later one can read it: its last breakpoint that
    reaches the model's minimum (0: it caches nothing)."""
    plan = plan_request(
        built.flat, list(built.breakpoints), built.model.min_cacheable_tokens, lambda _: False
    )
    return built.flat.blocks[plan.write_until].cumulative if plan.write_until is not None else 0


def _ttl_words(before: BuiltRequest, after: BuiltRequest) -> str:
    """A TTL switch in true words: the cache key has no lifetime, so what is cached stays
    readable; what changes is how long the next writes last and what they cost."""
    was = sorted({b.ttl for b in before.breakpoints})
    now = sorted({b.ttl for b in after.breakpoints})
    if not now or was == now:
        return ""
    prices = after.model.prices
    rate = ""
    if prices is not None and prices.input:
        rates = {"5m": prices.write_5m, "1h": prices.write_1h}
        rate = ", at " + " and ".join(
            f"${rates[t]:.2f}/MTok ({rates[t] / prices.input:g}x the input price)" for t in now
        )
    lasts = " and ".join({"5m": "5 minutes", "1h": "an hour"}[t] for t in now)
    return f" From the next write on, entries last {lasts}{rate}."


def preview_change(before: BuiltRequest, after: BuiltRequest, ledger: CacheLedger) -> Invalidation:
    """What the edited request can still read, by the same rules the service applies: entries
    exist only where breakpoints wrote them, and each breakpoint looks back 20 positions."""
    common = common_blocks(before, after)
    plan_before, plan_after = ledger.predict(before), ledger.predict(after)
    cached = plan_before.read_tokens
    kept = min(cached, plan_after.read_tokens)
    same_blocks = common == len(before.flat.blocks) == len(after.flat.blocks)
    same_model = before.model.id == after.model.id
    fewer = cacheable_tokens(before) - cacheable_tokens(after) if same_model else 0
    prices = after.model.prices
    per_turn = fewer * (prices.input - prices.read) / PER_MILLION if prices is not None else 0.0
    if fewer > 0:
        later = (
            f" From then on every turn pays about ${per_turn:.4f} more: {fewer:,} tokens of "
            "each request are no longer cached."
        )
    elif fewer < 0:
        later = (
            f" From then on every turn pays about ${-per_turn:.4f} less: {-fewer:,} more tokens "
            "of each request are cached."
        )
    else:
        later = ""
    ttl = _ttl_words(before, after) if same_blocks and same_model else ""
    if same_blocks and kept == cached:
        sentence = (
            f"The {cached:,} cached tokens stay readable.{ttl}{later}"
            if ttl or later
            else "Nothing changes in the request."
        )
        return Invalidation(None, cached, 0, 0.0, sentence, per_turn)
    index = min(common, len(after.flat.blocks) - 1)
    path = after.flat.blocks[index].path if after.flat.blocks else "system.0"
    lost = cached - kept
    # The next turn's input with the change against without it, each at its own model's prices
    # and as its breakpoints write (5m, 1h, or nothing: paid in full).
    known = before.model.prices is not None and after.model.prices is not None
    extra = (
        input_cost_usd(Usage.from_plan(plan_after), after.model)
        - input_cost_usd(Usage.from_plan(plan_before), before.model)
        if known
        else 0.0
    )
    again = "writes them again" if plan_after.uncached_tokens < lost else "pays them in full"
    if not same_model:  # entries belong to one model (prompt-caching.md)
        where = "the model"
    elif same_blocks:  # the same blocks with other breakpoints (a pattern or TTL switch)
        where = "where the breakpoints sit"
    elif (setting := setting_change(before, after)) is not None:  # thinking, effort, ...
        where = SETTINGS_CHANGED[setting[0]][2]
    else:
        where = _label(path)
    if cached == 0:
        sentence = f"The request changes from {where} on; nothing of it is cached now."
    elif lost == 0:
        sentence = (
            f"The request changes from {where} on, after the cached {cached:,} tokens: "
            "they stay readable."
        )
    elif kept == 0 and same_blocks and same_model:
        sentence = (
            f"The next request reads none of the {cached:,} cached tokens: its breakpoints do "
            f"not reach them; it pays about ${extra:.4f} more than reading them."
        )
    else:
        sentence = (
            f"Changing {where} invalidates {lost:,} of the {cached:,} cached tokens: the next "
            f"turn {again}, about ${extra:.4f} more than reading them."
        )
    return Invalidation(path, cached, lost, extra, sentence + ttl + later, per_turn)
