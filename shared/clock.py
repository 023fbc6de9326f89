"""Injectable time. Nothing in the domain or services calls datetime.now() directly."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol

from shared.domain.periods import utc


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock:
    """A clock that only moves when told to: for tests and scripted scenarios."""

    def __init__(self, at: datetime) -> None:
        self._at = utc(at)

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        self._at = utc(at)
