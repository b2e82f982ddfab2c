"""What an edit of the system prompt or the tools will cost before it is sent: which cached
prefix stops matching, and what writing it again costs compared with reading it."""

from __future__ import annotations

from dataclasses import dataclass

from app.caching.builder import BuiltRequest
from app.caching.explainer import common_blocks
from app.caching.ledger import CacheLedger

PER_MILLION = 1_000_000


@dataclass(frozen=True)
class Invalidation:
    first_difference: str | None  # path of the first block that changes, None when nothing does
    cached_tokens: int  # the longest live prefix of the request as it is now
    kept_tokens: int  # what the edited request can still read
    lost_tokens: int  # what the edited request must write again
    extra_usd: float  # writing the lost tokens (5m price) instead of reading them
    sentence: str


def _label(path: str) -> str:
    head = path.split(".")[0]
    if head == "tools":
        return "the tool definitions"
    if head == "system":
        return "the system prompt"
    return f"message {int(path.split('.')[1]) + 1}"


def preview_change(before: BuiltRequest, after: BuiltRequest, ledger: CacheLedger) -> Invalidation:
    """What the edited request can still read, by the same rules the service applies: entries
    exist only where breakpoints wrote them, and each breakpoint looks back 20 positions."""
    common = common_blocks(before, after)
    cached = ledger.predict(before).read_tokens
    kept = min(cached, ledger.predict(after).read_tokens)
    same_blocks = common == len(before.flat.blocks) == len(after.flat.blocks)
    if same_blocks and kept == cached:
        return Invalidation(None, cached, cached, 0, 0.0, "Nothing changes in the request.")
    index = min(common, len(after.flat.blocks) - 1)
    path = after.flat.blocks[index].path if after.flat.blocks else "system.0"
    lost = cached - kept
    # Writing them again at the new request's price instead of reading them at the old one's.
    read_price, write_price = before.model.prices, after.model.prices
    known = read_price is not None and write_price is not None
    extra = lost * (write_price.write_5m - read_price.read) / PER_MILLION if known else 0.0
    if before.model.id != after.model.id:  # entries belong to one model (prompt-caching.md)
        where = "the model"
    elif same_blocks:  # the same blocks with other breakpoints (a pattern or TTL switch)
        where = "where the breakpoints sit"
    else:
        where = _label(path)
    if cached == 0:
        sentence = f"The request changes from {where} on; nothing of it is cached now."
    elif lost == 0:
        sentence = (
            f"The request changes from {where} on, after the cached {cached:,} tokens: "
            "they stay readable."
        )
    else:
        sentence = (
            f"Changing {where} invalidates {lost:,} of the {cached:,} cached tokens: the next "
            f"turn writes them again, about ${extra:.4f} more than reading them."
        )
    return Invalidation(path, cached, kept, lost, extra, sentence)
