"""Renewal runs as use cases: for everyone (the PingSource trigger, `billing renew`), or
for one tenant (`POST /v1/renewals`). Never ahead of the real clock."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from shared.clock import Clock
from shared.db import usage_store
from shared.renewal import Report, Scope, renew
from shared.renewal.engine import DEFAULT_BATCH, Progress


async def renew_all(
    engine: AsyncEngine,
    clock: Clock,
    as_of: datetime | None = None,
    *,
    batch_size: int = DEFAULT_BATCH,
    progress: Progress | None = None,
    on_start=None,
) -> Report:
    """Renew every real-time subscription of every tenant as of `as_of` (e.g. a CloudEvent's
    time), capped at now: a future timestamp must never bill a period before it ends."""
    now = clock.now()
    moment = min(as_of, now) if as_of is not None else now
    await ensure_usage_partitions(engine, moment)
    return await renew(engine, Scope(), moment, batch_size=batch_size, progress=progress, on_start=on_start)


async def ensure_usage_partitions(engine: AsyncEngine, as_of: datetime, months_ahead: int = 2) -> int:
    """The periodic job keeps the usage events' monthly partitions created ahead of time
    (this month and `months_ahead` more); how many it made."""
    async with engine.begin() as sa_conn:
        raw = await sa_conn.get_raw_connection()
        return await usage_store.ensure_partitions(raw.driver_connection, as_of, months_ahead)


async def renew_tenant(engine: AsyncEngine, tenant_id: str, clock: Clock) -> Report:
    return await renew(engine, Scope(tenant_id=tenant_id), clock.now())
