"""Database outages and pool exhaustion, recognised in one place.

A request that cannot reach the database (server down, restarting, connection lost, even
during COMMIT, whose outcome is then unknown) or cannot get a pooled connection in time is
answered 503 with Retry-After, never 500. The process logs one line when such an episode
starts and one when the database serves again (with how many requests were refused and
for how long), instead of a traceback per request. Recovery needs nothing from us: the
pool replaces a connection the driver knows closed at checkout (shared.db.engine), and a
connection lost in use is invalidated, so the next request gets a fresh one.
"""

from __future__ import annotations

import logging
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import asyncpg
from aiohttp import web

from shared.db.driver_pool import DriverPool, PoolExhausted
from shared.logs import describe

if TYPE_CHECKING:
    from shared.db.hot_reads import Database

log = logging.getLogger("billing.outages")

RETRY_AFTER_SECONDS = 2
# An episode ends at the first successful checkout this long after its last refusal, so
# requests that were already failing when the database came back join the same episode.
QUIET_SECONDS = 1.0

UNAVAILABLE = "database-unavailable"
EXHAUSTED = "pool-exhausted"

# Connection exceptions (class 08), shutdown / starting up (57P01-57P03), too many connections.
_SQLSTATES = {"57P01", "57P02", "57P03", "53300"}
_DRIVER_ERRORS = (
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.TooManyConnectionsError,
)


@dataclass(frozen=True)
class Outage:
    kind: str  # UNAVAILABLE or EXHAUSTED
    cause: str  # the error, safe to log


def _chain(error: BaseException) -> Iterator[BaseException]:
    """The error, its causes and contexts, the wrapped driver errors and group members."""
    seen: set[int] = set()
    stack: list[Any] = [error]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        if isinstance(current, BaseExceptionGroup):
            stack.extend(current.exceptions)
        stack.extend((current.__cause__, current.__context__, getattr(current, "orig", None)))


def _sqlalchemy_errors() -> Any:
    """sqlalchemy.exc if SQLAlchemy is loaded, else None: a process that never imported it
    (a driver-only function, see shared.db.driver_pool) cannot have raised its errors."""
    return sys.modules.get("sqlalchemy.exc")


def _unreachable(error: BaseException) -> bool:
    sa_exc = _sqlalchemy_errors()
    if sa_exc is not None:
        if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
            return True
        if isinstance(error, sa_exc.OperationalError):
            return True
        if isinstance(error, sa_exc.InterfaceError) and "closed" in str(error):
            return True
    if isinstance(error, _DRIVER_ERRORS):
        return True
    sqlstate = getattr(error, "sqlstate", None)
    if isinstance(sqlstate, str) and (sqlstate.startswith("08") or sqlstate in _SQLSTATES):
        return True
    if isinstance(error, asyncpg.exceptions.InterfaceError) and "closed" in str(error):
        return True
    # Refused, reset, timed out (TimeoutError is an OSError), socket gone. aiohttp's own
    # errors are about the HTTP client that sent the request, not the database.
    return isinstance(error, OSError) and not type(error).__module__.startswith("aiohttp")


def classify(error: BaseException) -> Outage | None:
    """The outage behind `error`, or None if it is an ordinary failure."""
    chain = list(_chain(error))
    sa_exc = _sqlalchemy_errors()
    exhausted = (PoolExhausted, sa_exc.TimeoutError) if sa_exc is not None else PoolExhausted
    for current in chain:
        if isinstance(current, exhausted):
            return Outage(EXHAUSTED, describe(current).split("\n", 1)[0])
    for current in chain:
        if _unreachable(current):
            return Outage(UNAVAILABLE, describe(current).split("\n", 1)[0])
    return None


def detail(outage: Outage) -> str:
    if outage.kind == EXHAUSTED:
        return f"every database connection is busy; retry in {RETRY_AFTER_SECONDS} seconds"
    return f"the database is unavailable; retry in {RETRY_AFTER_SECONDS} seconds"


class Episodes:
    """Counts refusals between the database failing and serving again; logs twice per episode."""

    def __init__(self, now: Callable[[], float] = time.monotonic) -> None:
        self._now = now
        self._opened_at: float | None = None
        self._last_refusal = 0.0
        self._back_at: float | None = None
        self._refused: Counter[str] = Counter()

    @property
    def open(self) -> bool:
        return self._opened_at is not None

    def refused(self, outage: Outage) -> None:
        now = self._now()
        if self._opened_at is None:
            self._opened_at = now
            self._refused.clear()
            what = "connection pool exhausted" if outage.kind == EXHAUSTED else "database unavailable"
            log.warning(
                "%s (%s): answering 503 with Retry-After %ds until it serves again",
                what,
                outage.cause,
                RETRY_AFTER_SECONDS,
                extra={"outage": outage.kind},
            )
        self._refused[outage.kind] += 1
        self._last_refusal, self._back_at = now, None

    def succeeded(self) -> None:
        if self._opened_at is None:
            return
        now = self._now()
        if self._back_at is None:
            self._back_at = now
        if now - self._last_refusal < QUIET_SECONDS:
            return
        duration = round(self._back_at - self._opened_at, 3)
        refused = sum(self._refused.values())
        log.warning(
            "database serving again after %.1fs; %d request(s) were answered 503 meanwhile",
            duration,
            refused,
            extra={"outage_seconds": duration, "refused": refused, "refused_by_kind": dict(self._refused)},
        )
        self._opened_at = None


OUTAGES = web.AppKey("outages", Episodes)


def watch(engine: Database, episodes: Episodes | None = None) -> Episodes:
    """Episodes of this engine (or driver pool); a successful pool checkout ends one."""
    episodes = episodes or Episodes()
    if isinstance(engine, DriverPool):
        engine.on_checkout.append(episodes.succeeded)
        return episodes
    from sqlalchemy import event

    event.listen(engine.sync_engine, "checkout", lambda *_: episodes.succeeded())
    return episodes
