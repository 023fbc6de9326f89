"""Events and webhooks: what the outbox costs a renewal run, and how fast the dispatcher delivers.

    python -m bench.events [--subscriptions 100000] [--deliveries 2000] [--latency-samples 200] [--rounds 3]

1. Renewal with vs without events: per round, two fresh tenants of N due subscriptions each,
   renewed one after the other (events switched off for one; the order alternates between
   rounds): events written per second, and the renewal rate with events as a share of the
   rate without (each round's, and their median); also as CPU seconds (client and database
   processes, bench.cpu), which a machine shared with other work disturbs far less.
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
from bench.cpu import ServerCpu
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


async def _renewal(url: str, count: int, rounds: int = 3) -> dict[str, Any]:
    """`rounds` rounds, each renewing two fresh tenants of `count` subscriptions, one with
    events and one without, in alternating order (so warm-up and the machine's load fall
    on both alike); the share is the median of the rounds' shares."""
    engine = create_async_engine(async_url(url), pool_size=3)
    shares, seconds_with, seconds_without, written = [], [], [], 0
    cpu_shares, cpu_with, cpu_without = [], [], []
    conn = await asyncpg.connect(_plain(url))
    meter = await ServerCpu.of(conn)
    try:
        # Warm-up, not measured: a fresh database's first renewal pays for cold caches and
        # plans (it took twice the CPU of the next), which would fall on one side only.
        for events_on in (False, True):
            renewal_events.ENABLED = events_on
            try:
                await renew(engine, Scope(tenant_id=await seed_due_subscriptions(url, min(count, 2000), NOW)), NOW)
            finally:
                renewal_events.ENABLED = True
        for n in range(rounds):
            without_tenant = await seed_due_subscriptions(url, count, NOW)
            with_tenant = await seed_due_subscriptions(url, count, NOW)
            # Statistics as a database that grew to this size would have: right after a bulk
            # load autovacuum may not have analyzed yet, and at 100,000 the due claim planned
            # on stale statistics did not finish a batch in 20 minutes (with or without events).
            await conn.execute("ANALYZE")
            timings: dict[bool, float] = {}
            cpu: dict[bool, float] = {}
            for events_on in (True, False) if n % 2 else (False, True):
                renewal_events.ENABLED = events_on
                before = meter.seconds()
                try:
                    report = await renew(engine, Scope(tenant_id=with_tenant if events_on else without_tenant), NOW)
                finally:
                    renewal_events.ENABLED = True
                cpu[events_on] = meter.seconds() - before
                timings[events_on] = report.duration_seconds
            events = await conn.fetchval("SELECT count(*) FROM events WHERE tenant_id = $1", with_tenant)
            stray = await conn.fetchval("SELECT count(*) FROM events WHERE tenant_id = $1", without_tenant)
            assert stray == 0 and events >= 3 * count, (events, stray)
            written += events
            seconds_with.append(timings[True])
            seconds_without.append(timings[False])
            shares.append(timings[False] / timings[True])  # rate with / rate without
            cpu_with.append(cpu[True])
            cpu_without.append(cpu[False])
            cpu_shares.append(cpu[False] / cpu[True])
    finally:
        await conn.close()
        await engine.dispose()
    return {
        "subscriptions": count,
        "rounds": rounds,
        "events_written": written,
        "renewal_seconds_without_events": [round(s, 2) for s in seconds_without],
        "renewal_seconds_with_events": [round(s, 2) for s in seconds_with],
        "events_per_second": round(written / sum(seconds_with)),
        "renewal_rate_with_events_shares": [round(s, 3) for s in shares],
        "renewal_rate_with_events_share": round(statistics.median(shares), 3),
        "renewal_cpu_seconds_without_events": [round(s, 2) for s in cpu_without],
        "renewal_cpu_seconds_with_events": [round(s, 2) for s in cpu_with],
        "renewal_cpu_with_events_shares": [round(s, 3) for s in cpu_shares],
        "renewal_cpu_with_events_share": round(statistics.median(cpu_shares), 3),
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


async def run(
    url: str, subscriptions: int = 100_000, deliveries: int = 2000, samples: int = 200, rounds: int = 3
) -> dict[str, Any]:
    figures: dict[str, Any] = {"benchmark": "events"}
    figures.update(await _renewal(url, subscriptions, rounds))
    figures.update(await _with_receiver(url, deliveries, samples))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subscriptions", type=int, default=100_000)
    parser.add_argument("--deliveries", type=int, default=2000)
    parser.add_argument("--latency-samples", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3, help="renewal rounds (with and without events each)")
    args = parser.parse_args()
    with scratch_database() as url:
        print(json.dumps(asyncio.run(run(url, args.subscriptions, args.deliveries, args.latency_samples, args.rounds))))


if __name__ == "__main__":
    main()
