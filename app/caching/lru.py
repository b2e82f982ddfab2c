"""A least-recently-used memo bounded by entries and by weight (bytes held), so that thousands of
one-off warm-up tails or a day of opened conversations with their images do not pile up."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class BoundedMemo(Generic[V]):
    def __init__(self, max_entries: int, max_weight: int, weigh: Callable[[V], int]):
        self.max_entries = max_entries
        self.max_weight = max_weight
        self._weigh = weigh
        self._items: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()
        self.weight = 0

    def __len__(self) -> int:
        return len(self._items)

    def values(self) -> list[V]:
        return [value for value, _ in self._items.values()]

    def get(self, key: Hashable) -> V | None:
        hit = self._items.get(key)
        if hit is None:
            return None
        self._items.move_to_end(key)
        return hit[0]

    def put(self, key: Hashable, value: V) -> None:
        old = self._items.pop(key, None)
        if old is not None:
            self.weight -= old[1]
        weight = self._weigh(value)
        self._items[key] = (value, weight)
        self.weight += weight
        # The newest entry stays even when it alone is over the weight: it is in use.
        while len(self._items) > 1 and (
            len(self._items) > self.max_entries or self.weight > self.max_weight
        ):
            _, (_, dropped) = self._items.popitem(last=False)
            self.weight -= dropped
