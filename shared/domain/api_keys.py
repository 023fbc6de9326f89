"""What an API key allows: pure rules, no I/O."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Literal


def hash_key(key: str) -> str:
    """What is stored of a key, and looked up: SHA-256 (a slow hash buys nothing for 256
    random bits, and a lookup stays one index probe)."""
    return hashlib.sha256(key.encode()).hexdigest()


Scope = Literal["read", "write"]
SCOPES: tuple[Scope, ...] = ("read", "write")


@dataclass(frozen=True)
class Grant:
    """An active (not revoked) key, as the request that presents it needs it."""

    tenant_id: str
    key_id: str
    scope: str
    expires_at: datetime | None

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now

    @property
    def may_write(self) -> bool:
        # 'read' may only read; 'write' may read and write.
        return self.scope == "write"
