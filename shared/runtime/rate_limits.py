"""Token buckets in process memory, one per key (a tenant, a client address), in a bounded table.

Each process keeps its own table: with N replicas a tenant may get up to N times the limit.
The edge (Traefik's rate-limit middleware) is the cluster-wide limit; this one protects a
process and its database pool from one noisy tenant or client.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable

MAX_KEYS = 10_000  # ~150 bytes a bucket: about 1.5 MB at most


class Buckets:
    """`rate` tokens a second up to `burst`; rate 0 disables (every take succeeds)."""

    def __init__(
        self, rate: float, burst: int, *, max_keys: int = MAX_KEYS, now: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = max(1, burst)
        self.max_keys = max_keys
        self._now = now
        # key -> (tokens, when they were counted); least recently used first.
        self._table: OrderedDict[str, tuple[float, float]] = OrderedDict()

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def _tokens(self, key: str, now: float) -> float:
        tokens, then = self._table.get(key, (float(self.burst), now))
        return min(float(self.burst), tokens + (now - then) * self.rate)

    def wait(self, key: str) -> int:
        """Whole seconds until `key` has a token (0: it has one now). Takes nothing."""
        if not self.enabled:
            return 0
        tokens = self._tokens(key, self._now())
        return 0 if tokens >= 1 else max(1, math.ceil((1 - tokens) / self.rate))

    def take(self, key: str) -> int:
        """Take a token if there is one: 0, else the whole seconds to wait (Retry-After)."""
        if not self.enabled:
            return 0
        now = self._now()
        tokens = self._tokens(key, now)
        if tokens >= 1:
            tokens -= 1
            wait = 0
        else:
            wait = max(1, math.ceil((1 - tokens) / self.rate))
        self._table[key] = (tokens, now)
        self._table.move_to_end(key)
        while len(self._table) > self.max_keys:
            # The least recently seen key goes: at worst it starts again with a full bucket.
            self._table.popitem(last=False)
        return wait

    def refund(self, key: str) -> None:
        """Give back a token taken in advance for work that turned out not to count."""
        if self.enabled and key in self._table:
            tokens, then = self._table[key]
            self._table[key] = (min(float(self.burst), tokens + 1), then)

    def __len__(self) -> int:
        return len(self._table)
