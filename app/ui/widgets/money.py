"""What the window says of money, in one place: dollars as written, and what a request saved.

"Saved" has one definition wherever it is shown (the sidebar's last turn and total, the cache
inspector's request): what caching saved against sending the same without it, net of the
warm-ups and keep-alive pings. A turn's saving is its own (what it would have paid uncached,
less what it paid) less what the warm-ups and pings sent since the turn before it cost: they
were sent for it (``UsageTotals.serving``). A warm-up or a ping is counted in the turn it served,
not again on its own; one that no turn has used yet counts its whole cost against the saving.
So the requests' figures add up to the conversation's ``UsageTotals.saved_usd``.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.caching.costs import Kind, RequestRecord, UsageTotals


def usd(amount: float, known: bool = True) -> str:
    """Dollars to four places, the sign before the symbol: -$0.0032 ("unknown" without prices)."""
    if not known:
        return "unknown (no prices for this model)"
    return f"-${-amount:.4f}" if amount < 0 else f"${amount:.4f}"


@dataclass(frozen=True)
class Saving:
    """What one request adds to the conversation's saving, and how to say it."""

    usd: float  # its share of ``UsageTotals.saved_usd`` (0 for a warm-up counted in a turn)
    text: str  # the figure as the window writes it
    known: bool = True


def served_turn(totals: UsageTotals, record: RequestRecord) -> int | None:
    """For a warm-up or a ping: the number (1, 2, ...) of the turn it was sent for, the first
    turn after it; None when no turn has followed it yet."""
    number, seen = 0, False
    for other in totals.records:
        if other.kind == Kind.TURN:
            number += 1
            if seen:
                return number
        if other is record:
            seen = True
    return None


def saving_of(totals: UsageTotals, record: RequestRecord) -> Saving:
    """What ``record`` saved, by the window's one definition (see the module's docstring)."""
    if not record.cost.known:
        return Saving(0.0, usd(0.0, False), False)
    if record.kind == Kind.TURN:
        net, extra = totals.net_saved_usd(record)
        if not extra:
            return Saving(net, usd(net))
        if net < 0:
            text = f"{usd(net)}: cost more than no caching ({usd(extra)} of warm-ups and pings)"
        else:
            text = f"{usd(net)} after {usd(extra)} of warm-ups and pings"
        return Saving(net, text)
    paid = record.cost.paid_usd
    turn = served_turn(totals, record)
    if turn is not None:
        return Saving(0.0, f"counted in turn {turn}'s saving ({usd(paid)} taken from it)")
    return Saving(-paid, f"{usd(-paid)}: no turn has used it yet")
