"""Opaque, prefixed, time-sortable identifiers (ULID layout, Crockford base32).

Sorting by id sorts by creation time (millisecond resolution), which is what
cursor pagination (`starting_after`) needs, with no extra column.
"""

from __future__ import annotations

import base64
import secrets
import threading
import time

# Crockford's alphabet, lower-case. Its characters ascend in ASCII like the 5-bit values
# they stand for, so string order is numeric order. b32encode does the bit work in C; the
# table swaps RFC 4648's alphabet (not ASCII-ordered) for it.
_ALPHABET = b"0123456789abcdefghjkmnpqrstvwxyz"
_FROM_RFC4648 = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", _ALPHABET)


def _encode(value: int) -> str:
    """128 bits as 26 characters, big-endian, so equal-length ids sort numerically."""
    return base64.b32encode(value.to_bytes(16, "big")).translate(_FROM_RFC4648)[:26].decode()


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
