"""A plain asyncpg pool for the processes that only run the hot reads (no SQLAlchemy).

A function whose operations all read through shared.db.hot_reads (`driver_only=True` in
the registry: get-invoice, get-subscription, list-invoices, list-subscriptions) needs
no engine, session or ORM: importing SQLAlchemy was a third of its cold start and ~10 MB
of its memory. Such a process serves from this pool instead, with the behaviour of the
engine's pool (shared.db.engine) that requests rely on:

- at most `pool_size + max_overflow` connections, opened on demand (none at start);
- a request that waits longer than `pool_timeout` for a connection gets PoolExhausted,
  answered 503 by shared.runtime.outages (connecting has its own 10 s timeout);
- a connection the server closed is replaced at checkout (asyncpg checks its socket
  state, no round trip); one that failed in use is closed, not returned;
- no round trip on return (asyncpg's default reset sends RESET ALL, UNLISTEN, CLOSE ALL
  and unlocks advisory locks: nothing here sets any of them);
- every timestamp UTC, the same application_name;
- the same hooks for metrics (`LISTENERS`, class-level, as SQLAlchemy's pool events) and
  outage episodes (`on_checkout`, per pool).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import asyncpg

# How every connection is opened, on this pool and on shared.db.engine's (which imports them
# from here: this module does not import SQLAlchemy). Opening one to a server that does not
# answer fails after this many seconds (asyncpg's default is 60): generous, a loaded machine
# must not look like an outage. Every timestamp is UTC, whatever the server's default.
CONNECT_TIMEOUT_SECONDS = 10.0
SERVER_SETTINGS = {"timezone": "UTC", "application_name": "billing"}
# A connection that failed in use: closed, never handed to another request.
CONNECTION_ERRORS = (asyncpg.exceptions.PostgresConnectionError, asyncpg.exceptions.InterfaceError, OSError)


class PoolExhausted(Exception):
    """Every connection stayed busy for `pool_timeout` seconds (as SQLAlchemy's pool TimeoutError)."""


@dataclass(frozen=True)
class PoolListener:
    """Called on every DriverPool's connection events (the metrics of shared.telemetry)."""

    connect: Callable[[], None]
    close: Callable[[], None]
    checkout: Callable[[], None]
    checkin: Callable[[], None]


LISTENERS: list[PoolListener] = []


def driver_dsn(url: str) -> str:
    """DATABASE_URL as asyncpg takes it: postgres://, postgresql:// or postgresql+<driver>://
    (as shared.db.engine.async_url accepts). ValueError if it is not a URL at all."""
    scheme, sep, rest = url.partition("://")
    if not sep or not scheme or not rest or any(c.isspace() for c in url):
        raise ValueError("not a database URL")
    backend = scheme.split("+", 1)[0].lower()
    if backend not in ("postgres", "postgresql"):
        raise SystemExit(f"DATABASE_URL must point at PostgreSQL, got {backend!r}")
    try:
        urlsplit(url).port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        raise ValueError("not a database URL") from None
    return f"postgresql://{rest}"


async def _no_reset(connection: asyncpg.Connection) -> None:
    """asyncpg still rolls back an open transaction and drops listeners (locally) first."""


class DriverPool:
    def __init__(self, url: str, *, pool_size: int = 5, max_overflow: int = 5, pool_timeout: float = 5.0) -> None:
        self.size = pool_size + max_overflow
        self.timeout = pool_timeout
        self.on_checkout: list[Callable[[], None]] = []
        self._slots = asyncio.Semaphore(self.size)
        self._pool: asyncpg.Pool = asyncpg.create_pool(
            driver_dsn(url),
            min_size=0,
            max_size=self.size,
            init=self._connected,
            reset=_no_reset,
            server_settings=SERVER_SETTINGS,
            timeout=CONNECT_TIMEOUT_SECONDS,
        )

    async def start(self) -> DriverPool:
        await self._pool  # opens no connection (min_size=0)
        return self

    @staticmethod
    async def _connected(connection: asyncpg.Connection) -> None:
        for listener in LISTENERS:
            listener.connect()
        connection.add_termination_listener(_closed)

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        """One checkout: waits at most `pool_timeout` for a free slot, then takes (or opens)
        a connection. The slot bounds the waiters, so asyncpg's own acquire never queues."""
        if self._slots.locked():
            try:
                async with asyncio.timeout(self.timeout):
                    await self._slots.acquire()
            except TimeoutError:
                raise PoolExhausted(
                    f"no database connection free within {self.timeout:g}s ({self.size} in use)"
                ) from None
        else:
            await self._slots.acquire()  # free: no wait, no timer
        try:
            db: asyncpg.Connection = await self._pool.acquire()
            try:
                for listener in LISTENERS:
                    listener.checkout()
                for succeeded in self.on_checkout:
                    succeeded()
                try:
                    yield db
                except CONNECTION_ERRORS:
                    # Not returned for reuse: the pool opens a new one when needed (unless
                    # asyncpg saw it lost and already took it back: InterfaceError).
                    with contextlib.suppress(asyncpg.exceptions.InterfaceError):
                        db.terminate()
                    raise
                finally:
                    for listener in LISTENERS:
                        listener.checkin()
            finally:
                await self._pool.release(db)
        finally:
            self._slots.release()

    async def close(self) -> None:
        await self._pool.close()


def _closed(connection: Any) -> None:
    for listener in LISTENERS:
        listener.close()
