"""Opaque, prefixed, time-sortable identifiers (ULID layout, Crockford base32).

Sorting by id sorts by creation time (millisecond resolution), which is what
cursor pagination (`starting_after`) needs, with no extra column.
"""

from __future__ import annotations

import secrets
import threading
import time

# Crockford's alphabet, lower-case. Its characters ascend in ASCII like the 5-bit values
# they stand for, so string order is numeric order.
_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
# Every 10-bit value as its two characters: 13 lookups encode 130 bits. (base64.b32encode,
# which this replaces with the same output, is pure Python on 3.11 and was a sixth of a
# renewal run's client time.)
_PAIRS = [_ALPHABET[i >> 5] + _ALPHABET[i & 31] for i in range(1024)]
_TAIL_BITS = 85  # the last 17 characters; the first 9 hold only time bits, cached per millisecond
_TAIL_MASK = (1 << _TAIL_BITS) - 1
_head: tuple[int, str] = (-1, "")


def _encode(value: int) -> str:
    """128 bits as 26 characters, big-endian (the value shifted left by 2 to fill 130 bits:
    RFC 4648 base32 of its 16 bytes, cut to 26 characters), so equal-length ids sort
    numerically."""
    global _head
    bits = value << 2
    high = bits >> _TAIL_BITS
    cached_high, head = _head
    if cached_high != high:
        head = "".join(_ALPHABET[high >> shift & 31] for shift in range(40, -1, -5))
        _head = (high, head)
    low, p = bits & _TAIL_MASK, _PAIRS
    return (
        head
        + _ALPHABET[low >> 80]
        + p[low >> 70 & 1023]
        + p[low >> 60 & 1023]
        + p[low >> 50 & 1023]
        + p[low >> 40 & 1023]
        + p[low >> 30 & 1023]
        + p[low >> 20 & 1023]
        + p[low >> 10 & 1023]
        + p[low & 1023]
    )


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
    return f"{prefix}_{_encode(millis << 80 | random)}"
