"""A true lower bound on what a session can cost, with hindsight over every plan the API allows.

Every request's input bill is a sum over its tokens: read, written for 5 minutes or an hour, or
paid in full. So a bound can be taken token by token (a block of the conversation at one place in
the prefix, known by its prefix fingerprint), over the sends that carry it, letting each token
choose its cheapest history on its own. Each choice below is one a real plan can make, and
everything that ties tokens together (four breakpoints, the 20-block lookback, which token a
breakpoint sits on) is relaxed, which can only lower the bound:

- the first send that carries a token pays it in full, or writes it (5m or 1h);
- a later send reads it if an entry holding it is alive then; keeping an entry alive across a gap
  takes a ping (a read of the token) at least every TTL; pings may be sent at any moment;
- a read (by a send or a ping) also puts the token into an entry of either lifetime for free (a
  request that reads it can write its own new tokens with a 1h breakpoint after it: only those
  pay the 1h rate), so a 5m write read once within five minutes lives on for an hour;
- a request under the model's minimum cacheable length can neither read nor write;
- warm-ups never lower the bound: writing a token before the send that needs it costs the same
  write plus a read, and starts its lifetime earlier;
- output: each send's reply is paid; warm-ups and pings produce nothing (``max_tokens`` 0).

Send times are the earliest the trace allows (every reply instant), because a longer gap can
only cost more: the bound holds whatever latency a policy's requests meet.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.facts.catalogue import Prices
from app.facts.prefix import FlatRequest
from app.facts.rules import TTL_SECONDS


@dataclass(frozen=True)
class Send:
    at: float  # the earliest moment the trace lets this send start
    flat: FlatRequest
    output_tokens: int


def _offer(states: dict, state, cost: float) -> None:
    if cost < states.get(state, float("inf")):
        states[state] = cost


def _touches(ttl: float, since: float, at: float) -> int:
    """The fewest reads (pings) that keep a token alive from ``since`` to ``at``: every read may
    put it into a 1h entry, so past its first lifetime one read an hour is enough."""
    gap = at - since
    hour = TTL_SECONDS["1h"]
    if ttl >= hour:
        return int(gap // hour)
    return min(int(gap // ttl), 1 + int(max(0.0, gap - ttl) // hour))


def token_cost(times: list[float], eligible: list[bool], prices: Prices) -> float:
    """The cheapest history of one token carried by sends at ``times`` (dollars per million)."""
    # state: (ttl seconds, time of the last refresh) -> cheapest cost so far; None: no entry
    states: dict[tuple[float, float] | None, float] = {None: 0.0}
    lives = {TTL_SECONDS["5m"]: prices.write_5m, TTL_SECONDS["1h"]: prices.write_1h}
    for at, ok in zip(times, eligible, strict=True):
        best = min(states.values())
        after: dict[tuple[float, float] | None, float] = {}
        for state, cost in states.items():
            _offer(after, state, cost + prices.input)  # paid in full; any entry just ages
            if ok and state is not None:
                read = cost + prices.read * (1 + _touches(*state, at))
                _offer(after, (TTL_SECONDS["1h"], at), read)  # a read may re-enter it for 1h
        if ok:
            for ttl, price in lives.items():
                _offer(after, (ttl, at), best + price)
        states = after
    return min(states.values())


def lower_bound_usd(sends: list[Send], min_tokens: int, prices: Prices) -> float:
    carried: dict[str, tuple[int, list[int]]] = {}
    for i, send in enumerate(sends):
        previous = 0
        for block in send.flat.blocks:
            tokens = block.cumulative - previous
            previous = block.cumulative
            if tokens > 0:
                carried.setdefault(block.fingerprint, (tokens, []))[1].append(i)
    total = 0.0
    for tokens, which in carried.values():
        times = [sends[i].at for i in which]
        eligible = [sends[i].flat.total_tokens >= min_tokens for i in which]
        total += tokens * token_cost(times, eligible, prices)
    total += sum(s.output_tokens for s in sends) * prices.output
    return total / 1_000_000
