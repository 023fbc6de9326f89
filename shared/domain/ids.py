"""Opaque, prefixed, time-sortable identifiers (ULID layout, Crockford base32).

Sorting by id sorts by creation time (millisecond resolution), which is what
cursor pagination (`starting_after`) needs, with no extra column.
"""
from __future__ import annotations

import secrets
import threading
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford, lower-case


def _encode(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        value, digit = divmod(value, 32)
        chars.append(_ALPHABET[digit])
    return "".join(reversed(chars))


_lock = threading.Lock()
_last = (0, 0)


def new_id(prefix: str) -> str:
    """e.g. new_id('cus') -> 'cus_01jc9z6k3m8w2x4y5z6a7b8c9d'. 48 bits of time + 80 random bits.

    Monotonic within a process (the ULID rule): ids made in the same millisecond increment
    the random part, so id order is creation order even for rows made together.
    """
    global _last
    millis = time.time_ns() // 1_000_000
    with _lock:
        last_millis, last_random = _last
        if millis <= last_millis:
            millis, random = last_millis, last_random + 1
        else:
            random = secrets.randbits(79)  # headroom: increments never overflow 80 bits
        _last = (millis, random)
    return f"{prefix}_{_encode(millis, 10)}{_encode(random, 16)}"


PREFIXES = {
    "customer": "cus",
    "plan": "plan",
    "subscription": "sub",
    "invoice": "in",
    "invoice_line": "il",
    "invoice_item": "ii",
    "tenant": "ten",
    "api_key": "key",
    "test_clock": "clock",
}
