"""How long this user pauses between sends: the prior for keep-alive and TTL decisions.

A pause is the time from one send of the user's to their next in the same conversation. The model
mixes a built-in prior (pseudo-observations, below) with the user's own pauses, taken from the
history database at start and from every send after that; it also carries the chance that a
conversation is over after a send (the user never comes back to it).

The prior is Cachescope's choice, not a published figure: over half of follow-ups within two
minutes, about one in four after more than five minutes, one in twenty-four after more than an
hour. Its weight is that of ``PRIOR_WEIGHT`` observations, so a user's own habits take over after
a few dozen sends.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable

PRIOR_PAUSES_S = (
    (20, 2.0),
    (45, 2.0),
    (90, 1.5),
    (150, 1.0),
    (240, 0.8),
    (480, 0.6),
    (900, 0.5),
    (1800, 0.4),
    (2700, 0.3),
    (5400, 0.4),
)
PRIOR_WEIGHT = sum(w for _, w in PRIOR_PAUSES_S)
PRIOR_END_CHANCE = 0.1  # after a send, the chance the conversation is over
MAX_PAUSE_S = 6 * 3600.0  # longer gaps are a new session, not a pause
MAX_OBSERVED = 2000


class PauseModel:
    def __init__(self, pauses: Iterable[float] = (), end_chance: float = PRIOR_END_CHANCE):
        self.end_chance = end_chance
        self._observed: list[float] = []
        self.learn_all(pauses)

    def learn(self, pause: float) -> None:
        if 0 < pause <= MAX_PAUSE_S:
            bisect.insort(self._observed, pause)
            if len(self._observed) > MAX_OBSERVED:
                del self._observed[len(self._observed) // 2]  # keep the spread, bound memory

    def learn_all(self, pauses: Iterable[float]) -> None:
        for pause in pauses:
            self.learn(pause)

    @property
    def observed(self) -> int:
        return len(self._observed)

    def survival(self, seconds: float) -> float:
        """P(pause > seconds) for a user who comes back."""
        longer = len(self._observed) - bisect.bisect_right(self._observed, seconds)
        prior = sum(w for s, w in PRIOR_PAUSES_S if s > seconds)
        return (longer + prior) / (len(self._observed) + PRIOR_WEIGHT)

    def chance_between(self, start: float, end: float) -> float:
        """P(the next send comes after ``start`` and by ``end`` seconds), the end included."""
        return (1 - self.end_chance) * max(0.0, self.survival(start) - self.survival(end))

    def chance_between_after(self, idle: float, start: float, end: float) -> float:
        """The user has been away ``idle`` seconds since their last send: P(the next send comes
        after ``start`` more seconds and by ``end``). With ``idle`` 0, ``chance_between``."""
        if idle <= 0:
            return self.chance_between(start, end)
        still_away = (1 - self.end_chance) * self.survival(idle) + self.end_chance
        if still_away <= 0:
            return 0.0
        back = self.survival(idle + start) - self.survival(idle + end)
        return (1 - self.end_chance) * max(0.0, back) / still_away

    def return_chance(self, idle: float, window: float) -> float:
        """Idle ``idle`` seconds so far: P(the user sends within the next ``window``)."""
        back_later = (1 - self.end_chance) * self.survival(idle)
        still_away = back_later + self.end_chance
        if still_away <= 0:
            return 0.0
        return (
            (1 - self.end_chance)
            * (self.survival(idle) - self.survival(idle + window))
            / (still_away)
        )
