"""Usage events are range-partitioned by month; the periodic job creates partitions ahead,
and rows that reached the default partition move into the month's partition."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
from sqlalchemy.ext.asyncio import create_async_engine

from shared.clock import FrozenClock
from shared.db.engine import async_url
from shared.services.renewals import renew_all


async def _partition_of(conn: asyncpg.Connection, when: datetime) -> str:
    return await conn.fetchval('SELECT tableoid::regclass::text FROM usage_events WHERE "timestamp" = $1', when)


async def test_the_periodic_job_creates_partitions_ahead_and_moves_default_rows(database_url: str) -> None:
    far = datetime(2031, 2, 10, tzinfo=UTC)
    conn = await asyncpg.connect(database_url)
    engine = create_async_engine(async_url(database_url))
    try:
        await conn.execute(
            'INSERT INTO usage_events (tenant_id, customer_id, meter_id, "timestamp", id, counted, properties, '
            "received_at) VALUES ('t', 'c', 'm', $1, 'e1', true, '{}', now())",
            far,
        )
        assert await _partition_of(conn, far) == "usage_partitions.usage_events_default"
        report = await renew_all(engine, FrozenClock(datetime(2031, 1, 15, tzinfo=UTC)))
        assert report.complete
        names = {
            r["name"]
            for r in await conn.fetch(
                "SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "WHERE i.inhparent = 'usage_events'::regclass"
            )
        }
        assert {"usage_events_2031_01", "usage_events_2031_02", "usage_events_2031_03"} <= names
        assert await _partition_of(conn, far) == "usage_partitions.usage_events_2031_02"
        # Idempotent: a second run makes nothing new.
        assert await conn.fetchval("SELECT usage_ensure_partitions($1, 2)", datetime(2031, 1, 15, tzinfo=UTC)) == 0
    finally:
        await conn.close()
        await engine.dispose()
