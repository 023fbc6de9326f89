"""The plain asyncpg pool of the driver-only functions (shared.db.driver_pool) keeps the
engine pool's rules: bounded size, 503 on exhaustion, a connection lost in use replaced,
no round trip on return, UTC sessions, and the connection metrics' events."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from shared.db.driver_pool import LISTENERS, DriverPool, PoolExhausted, PoolListener, driver_dsn
from shared.runtime import outages


async def test_a_full_pool_refuses_with_an_outage_and_recovers(database_url: str) -> None:
    pool = await DriverPool(database_url, pool_size=1, max_overflow=0, pool_timeout=0.2).start()
    events: list[str] = []
    listener = PoolListener(*(lambda name=name: events.append(name) for name in ("connect", "close", "out", "in")))
    LISTENERS.append(listener)
    episodes = outages.watch(pool)
    try:
        async with pool.connection() as held:
            assert await held.fetchval("SHOW timezone") == "UTC"
            pid = held.get_server_pid()
            with pytest.raises(PoolExhausted) as refused:
                async with pool.connection():
                    pass
            outage = outages.classify(refused.value)
            assert outage is not None and outage.kind == outages.EXHAUSTED
            episodes.refused(outage)
            assert episodes.open
        async with pool.connection() as again:  # the one connection serves again
            assert again.get_server_pid() == pid
        # Lost in use: closed, not returned; the next checkout opens a new one.
        with pytest.raises(asyncpg.exceptions.ConnectionDoesNotExistError):
            async with pool.connection() as lost:
                await lost.execute("SELECT pg_terminate_backend(pg_backend_pid())")
        async with pool.connection() as fresh:
            assert fresh.get_server_pid() != pid and await fresh.fetchval("SELECT 1") == 1
        await asyncio.sleep(0)  # termination listeners run soon, not at once
        assert events.count("connect") == 2 and events.count("close") == 1
        assert events.count("out") == events.count("in") == 4
    finally:
        LISTENERS.remove(listener)
        await pool.close()


def test_database_urls_are_read_as_the_engine_reads_them() -> None:
    assert driver_dsn("postgres://u:p@h:5432/d") == "postgresql://u:p@h:5432/d"
    assert driver_dsn("postgresql+asyncpg://u@h/d?sslmode=disable") == "postgresql://u@h/d?sslmode=disable"
    for bad in ("not a url", "postgresql://h:port/d", ""):
        with pytest.raises(ValueError):
            driver_dsn(bad)
    with pytest.raises(SystemExit):
        driver_dsn("mysql://h/d")
