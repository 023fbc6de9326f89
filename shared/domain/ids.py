"""Opaque, prefixed, time-sortable identifiers (ULID layout, Crockford base32).

Sorting by id sorts by creation time (millisecond resolution), which is what
cursor pagination (`starting_after`) needs, with no extra column.
"""
from __future__ import annotations

import secrets
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford, lower-case


def _encode(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        value, digit = divmod(value, 32)
        chars.append(_ALPHABET[digit])
    return "".join(reversed(chars))


def new_id(prefix: str) -> str:
    """e.g. new_id('cus') -> 'cus_01jc9z6k3m8w2x4y5z6a7b8c9d'. 48 bits of time + 80 random bits."""
    millis = time.time_ns() // 1_000_000
    return f"{prefix}_{_encode(millis, 10)}{_encode(secrets.randbits(80), 16)}"


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
