"""Real token counts in place of the estimator's, where the service has told them.

A fingerprint names a whole prefix, so a real count learned for it (from the free
``count_tokens`` endpoint, or from a response's usage: its total input is the count of the
whole request) holds for every later request that shares that prefix. ``apply`` moves a flat
request's running totals onto the known counts; between two known points it keeps the
estimator's increments, shifted by the last known difference.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import replace

from app.facts.prefix import FlatRequest

LIMIT = 50_000  # prefixes remembered (a few MB)


class TokenCalibration:
    def __init__(self, limit: int = LIMIT) -> None:
        self.limit = limit
        self._real: OrderedDict[tuple[str, str], int] = OrderedDict()  # (model, fingerprint)

    def __len__(self) -> int:
        return len(self._real)

    def learn(self, model: str, fingerprint: str, tokens: int) -> None:
        """The service counted ``tokens`` for this prefix on this model (tokenizers differ)."""
        key = (model, fingerprint)
        self._real[key] = int(tokens)
        self._real.move_to_end(key)
        while len(self._real) > self.limit:
            self._real.popitem(last=False)

    def known(self, model: str, fingerprint: str) -> bool:
        return (model, fingerprint) in self._real

    def apply(self, flat: FlatRequest, model: str) -> FlatRequest:
        real = self._real
        if not real or all(
            real.get((model, b.fingerprint), b.cumulative) == b.cumulative for b in flat.blocks
        ):
            return flat  # nothing known differs from the estimate (always so on the simulator)
        out = []
        offset = previous = 0
        for block in flat.blocks:
            known = real.get((model, block.fingerprint))
            if known is not None:
                offset = known - block.cumulative
            cumulative = max(previous, block.cumulative + offset)
            tokens = cumulative - previous
            out.append(
                replace(block, cumulative=cumulative, facts=replace(block.facts, tokens=tokens))
            )
            previous = cumulative
        return FlatRequest(tuple(out), previous, flat.level_contexts)
