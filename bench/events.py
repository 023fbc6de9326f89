"""Events and webhooks: what the outbox costs a renewal run, and how fast the dispatcher delivers.

    python -m bench.events [--subscriptions 100000] [--deliveries 2000] [--latency-samples 200]

1. Renewal with vs without events: two tenants of N due subscriptions each, renewed one after
   the other (events switched off for the first): events written per second, and the renewal
   rate with events as a share of the rate without.
2. Deliveries per second: that many events to one endpoint on a local aiohttp receiver,
   drained by one dispatcher (claims of 100, signed, sent, recorded).
3. Commit-to-delivery: events committed one at a time while the dispatcher runs as in
   `billing serve` (LISTEN/NOTIFY); p50 and p99 of commit -> received.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from datetime import UTC, datetime
from typing import Any

import asyncpg
from aiohttp import web
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from bench.common import scratch_database
from bench.seed import seed_due_subscriptions
from shared.db.engine import async_url
from shared.db.event_writer import PendingEvent, write_events
from shared.events.dispatcher import Dispatcher
from shared.events.signing import new_secret
from shared.renewal import Scope, renew
from shared.renewal import events as renewal_events

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


def _plain(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _renewal(url: str, count: int) -> dict[str, Any]:
    engine = create_async_engine(async_url(url), pool_size=3)
    try:
        without_tenant = await seed_due_subscriptions(url, count, NOW)
        with_tenant = await seed_due_subscriptions(url, count, NOW)
        renewal_events.ENABLED = False
        try:
            without = await renew(engine, Scope(tenant_id=without_tenant), NOW)
        finally:
            renewal_events.ENABLED = True
        with_events = await renew(engine, Scope(tenant_id=with_tenant), NOW)
    finally:
        await engine.dispose()
    conn = await asyncpg.connect(_plain(url))
    try:
        events = await conn.fetchval("SELECT count(*) FROM events WHERE tenant_id = $1", with_tenant)
        stray = await conn.fetchval("SELECT count(*) FROM events WHERE tenant_id = $1", without_tenant)
    finally:
        await conn.close()
    assert stray == 0 and events >= 3 * count, (events, stray)
    rate_without = count / without.duration_seconds
    rate_with = count / with_events.duration_seconds
    return {
        "subscriptions": count,
        "events_written": events,
        "renewal_seconds_without_events": round(without.duration_seconds, 2),
        "renewal_seconds_with_events": round(with_events.duration_seconds, 2),
        "events_per_second": round(events / with_events.duration_seconds),
        "renewal_rate_with_events_share": round(rate_with / rate_without, 3),
    }


class _Receiver:
    def __init__(self) -> None:
        self.arrivals: dict[str, float] = {}

    async def handle(self, request: web.Request) -> web.Response:
        await request.read()
        self.arrivals.setdefault(request.headers["webhook-id"], time.perf_counter())
        return web.Response(status=204)


async def _with_receiver(url: str, deliveries: int, samples: int) -> dict[str, Any]:
    receiver = _Receiver()
    app = web.Application()
    app.router.add_post("/hooks", receiver.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    conn = await asyncpg.connect(_plain(url))
    engine = create_async_engine(async_url(url), pool_size=2)
    try:
        tenant = await conn.fetchval("SELECT id FROM tenants LIMIT 1")
        await conn.execute(
            "INSERT INTO webhook_endpoints (tenant_id, id, url, enabled_events, secret, created_at, updated_at) "
            "VALUES ($1, 'we_bench', $2, ARRAY['bench.*'], $3, now(), now())",
            tenant,
            f"http://127.0.0.1:{port}/hooks",
            new_secret(),
        )

        def event(n: int) -> PendingEvent:
            return PendingEvent(tenant, "bench.ping", f"obj_{n}", NOW, object={"id": f"obj_{n}", "n": n})

        # 2. Throughput: a backlog drained by one dispatcher.
        async with conn.transaction():
            await write_events(conn, [event(n) for n in range(deliveries)])
        dispatcher = Dispatcher(engine, allow_private=True, batch=100)
        started = time.perf_counter()
        done = await dispatcher.drain()
        drained = time.perf_counter() - started
        await dispatcher.close()
        assert done.delivered == deliveries, done

        # 3. Latency: one event per commit, the dispatcher woken by NOTIFY.
        background = Dispatcher(engine, allow_private=True, batch=100, poll_seconds=5.0)
        background.start(_plain(url))
        await asyncio.sleep(1.0)  # let it LISTEN
        latencies = []
        for n in range(samples):
            async with conn.transaction():
                [event_id] = await write_events(conn, [event(deliveries + n)])
            committed = time.perf_counter()
            deadline = time.monotonic() + 30
            while event_id not in receiver.arrivals and time.monotonic() < deadline:
                await asyncio.sleep(0.001)
            latencies.append(receiver.arrivals[event_id] - committed)
            await asyncio.sleep(0.01)
        await background.stop()
    finally:
        await conn.close()
        await engine.dispose()
        await runner.cleanup()
    quantiles = statistics.quantiles(latencies, n=100)
    return {
        "deliveries": deliveries,
        "deliveries_per_second": round(deliveries / drained),
        "commit_to_delivery_samples": samples,
        "commit_to_delivery_p50_ms": round(statistics.median(latencies) * 1000, 1),
        "commit_to_delivery_p99_ms": round(quantiles[98] * 1000, 1),
    }


async def run(url: str, subscriptions: int = 100_000, deliveries: int = 2000, samples: int = 200) -> dict[str, Any]:
    figures: dict[str, Any] = {"benchmark": "events"}
    figures.update(await _renewal(url, subscriptions))
    figures.update(await _with_receiver(url, deliveries, samples))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subscriptions", type=int, default=100_000)
    parser.add_argument("--deliveries", type=int, default=2000)
    parser.add_argument("--latency-samples", type=int, default=200)
    args = parser.parse_args()
    with scratch_database() as url:
        print(json.dumps(asyncio.run(run(url, args.subscriptions, args.deliveries, args.latency_samples))))


if __name__ == "__main__":
    main()
