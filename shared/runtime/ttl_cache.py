"""A small in-process cache whose entries expire after a fixed time, with a size bound."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

V = TypeVar("V")


class TtlCache(Generic[V]):
    def __init__(self, seconds: float, max_entries: int, *, now: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.max_entries = max_entries
        self._now = now
        # Every entry lives equally long, so insertion order is expiry order: oldest first.
        self._entries: OrderedDict[str, tuple[V, float]] = OrderedDict()

    def get(self, key: str) -> V | None:
        found = self._entries.get(key)
        if found is None:
            return None
        if found[1] <= self._now():
            del self._entries[key]
            return None
        return found[0]

    def put(self, key: str, value: V) -> None:
        self._entries.pop(key, None)
        self._entries[key] = (value, self._now() + self.seconds)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def discard(self, key: str) -> None:
        self._entries.pop(key, None)

    def __len__(self) -> int:
        return len(self._entries)
