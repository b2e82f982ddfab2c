"""Why Cachescope's own row cost more, or waited longer, than another policy of the same replay,
in words a user can act on: what its warm-ups, keep-alive pings and hour-long writes cost and
bought, and why it did not warm before the messages it was slower on (the engine's own reason,
as the warm indicator said it then). Drawn from ``Row.spending`` (``app.replay.spending``)."""

from __future__ import annotations

from app.replay.report import FIVE_MINUTES_S, Report, Row

USD_EPSILON = 0.00005  # a difference under this is no difference (the table shows 4 decimals)
SLOWER_S = 0.01  # a send this much slower than the other policy's counts as slower
NOT_WORTH = "not worth it"
TTL_ROWS = ("cachescope_5m", "cachescope_1h")  # Cachescope with another TTL than yours


def _money(usd: float) -> str:
    return f"${usd:.4f}"


def why_ours(report: Report, pauses: list[float]) -> list[str]:
    """Sentences on why "Cachescope, your settings" cost more than the cheapest policy that cost
    less, and waited longer (median) than the fastest that waited less; none when it did not."""
    rows = report.comparable
    ours = next((r for r in rows if r.policy == "cachescope"), None)
    if ours is None or ours.spending is None:
        return []
    others = [r for r in rows if r is not ours]
    out = []
    cheaper = [r for r in others if r.cost_usd < ours.cost_usd - USD_EPSILON]
    if cheaper:
        cheapest = min(cheaper, key=lambda r: r.cost_usd)
        out.append(_costlier(ours, cheapest, pauses))
        ttl = [r for r in cheaper if r.policy in TTL_ROWS and r is not cheapest]
        if ttl and ours.spending.premium_1h_usd >= USD_EPSILON:
            out.append(_hour_in_hindsight(ours, min(ttl, key=lambda r: r.cost_usd), pauses))
    faster = [
        r
        for r in others
        if r.p50_ttft_s is not None
        and ours.p50_ttft_s is not None
        and r.p50_ttft_s < ours.p50_ttft_s - SLOWER_S / 2
    ]
    if faster:
        out.append(_slower(ours, min(faster, key=lambda r: r.p50_ttft_s)))
    return out


def _costlier(ours: Row, other: Row, pauses: list[float]) -> str:
    spent = ours.spending
    more = ours.cost_usd - other.cost_usd
    causes, actions = [], []
    if spent.warmups:
        unread = spent.warmups - spent.warmups_read
        causes.append(
            f"its {spent.warmups} warm-up(s) added {_money(spent.warmups_added_usd)} over"
            " sending cold (they re-read what was cached, and the send read what they wrote)"
            + (f"; {unread} were read by no send" if unread else "")
        )
        actions.append("turn off Warm while typing")
    if spent.pings:
        causes.append(f"its {spent.pings} keep-alive ping(s) cost {_money(spent.pings_usd)}")
        actions.append("set Keep-alive to 0")
    if spent.premium_1h_usd >= USD_EPSILON:
        long = sum(p > FIVE_MINUTES_S for p in pauses)
        causes.append(
            f"writing {spent.written_1h:,} tokens for an hour cost"
            f" {_money(spent.premium_1h_usd)} more than for 5 minutes"
            + (" and no pause of yours passed 5 minutes" if not long else "")
        )
        actions.append("choose the 5m TTL")
    said = f"{ours.label} cost {_money(more)} more than {other.label}"
    if not causes:
        return (
            f"{said}: its sends themselves cost more (where its breakpoints sit); Use"
            f" “{other.label}” below if it can be followed."
        )
    bought = ""
    if ours.p50_ttft_s is not None and other.p50_ttft_s is not None:
        if other.p50_ttft_s - ours.p50_ttft_s >= SLOWER_S / 2:
            bought = (
                f" They bought waiting: its median wait was {ours.p50_ttft_s:.2f} s against"
                f" {other.p50_ttft_s:.2f} s."
            )
        elif other.worst_ttft_s - ours.worst_ttft_s >= SLOWER_S / 2:
            bought = (
                f" They bought waiting on the slowest message: {ours.worst_ttft_s:.2f} s against"
                f" {other.worst_ttft_s:.2f} s (the median wait the same)."
            )
        else:
            bought = " They did not make it wait less."
    act = f" If that is not worth it to you here, {' or '.join(actions)} (the toolbar)."
    return f"{said}: {'; '.join(causes)}.{bought}{act}"


def _hour_in_hindsight(ours: Row, other: Row, pauses: list[float]) -> str:
    spent = ours.spending
    long = sum(p > FIVE_MINUTES_S for p in pauses)
    return (
        f"{other.label} cost {_money(ours.cost_usd - other.cost_usd)} less than {ours.label}:"
        f" with your settings {spent.written_1h:,} tokens were written for an hour, for"
        f" {_money(spent.premium_1h_usd)} more than for 5 minutes, as insurance against a pause"
        " past 5 minutes"
        + (
            f" ({long} of your pauses were)."
            if long
            else "; none came. Choose the 5m TTL if your pauses here stay short."
        )
    )


def _slower(ours: Row, other: Row) -> str:
    spent = ours.spending
    pairs = list(zip(ours.ttft_s, other.ttft_s, strict=False))
    slower = [i for i, (a, b) in enumerate(pairs) if a > b + SLOWER_S]
    lost = sum(pairs[i][0] - pairs[i][1] for i in slower)
    said = (
        f"{ours.label} waited longer than {other.label} (median {ours.p50_ttft_s:.2f} s against"
        f" {other.p50_ttft_s:.2f} s): before {len(slower)} of {len(pairs)} messages"
        f" ({lost:.2f} s in all)"
    )
    reasons = [spent.before_sends[i] for i in slower if i < len(spent.before_sends)]
    unwarmed = [r for r in reasons if r.startswith(NOT_WORTH)]
    if unwarmed and len(unwarmed) * 2 >= len(reasons):
        return (
            f"{said} it did not warm, because re-reading the conversation would have cost more"
            f" than the seconds it saves are worth at ${spent.wait_usd_per_s:.2f} a second of"
            f" waiting (the last: “{unwarmed[-1]}”). To buy those seconds, raise what a second"
            " less waiting is worth (Preferences)."
        )
    named = [r for r in reasons if r and not r.startswith("warmed")]
    if named:
        common = max(set(named), key=named.count)
        return f"{said} it did not warm: {common}."
    return f"{said} its sends processed more of the conversation than {other.label}'s."
