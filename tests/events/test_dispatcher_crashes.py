"""Crash safety: the dispatcher, as its own process, is SIGKILLed again and again while a
burst of events is being delivered; after a final restart (`billing serve` with the
dispatch function, as deployed) every event has arrived at least once, always under its own
webhook-id, and every delivery verifies. The killed processes run the dispatcher loop alone,
forked from a zygote (tests.events.dispatcher_process: the same code, a much cheaper start)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
from aiohttp import web

from bench.processes import serve, wait_ready
from shared.clock import FrozenClock
from shared.db.engine import make_engine, make_sessionmaker
from shared.db.uow import UnitOfWork
from shared.services import webhooks
from tests.client import Api
from tests.conftest import plain
from tests.events.receiver import Receiver

ROOT = Path(__file__).resolve().parents[2]
KILLS = 20
EVENTS_PER_ROUND = 3


class SlowReceiver(Receiver):
    async def handle(self, request: web.Request) -> web.Response:
        await asyncio.sleep(0.02)  # so that kills land mid-delivery
        return await super().handle(request)


async def test_every_event_arrives_despite_repeated_sigkills(api: Api, aiohttp_server) -> None:  # type: ignore[no-untyped-def]
    found = SlowReceiver()
    server = await aiohttp_server(found.app(), host="127.0.0.1")
    engine = make_engine(api.database_url, pool_size=1, max_overflow=0)
    try:
        tenant_id = (await _fetch(api, "SELECT tenant_id FROM api_keys WHERE bootstrap"))[0]["tenant_id"]
        hook = await webhooks.create_endpoint(
            UnitOfWork(make_sessionmaker(engine)),
            tenant_id,
            FrozenClock(datetime(2026, 1, 1, tzinfo=UTC)),
            url=f"http://127.0.0.1:{server.port}/hooks",
            enabled_events=["customer.*"],
            description="crash test",
            allow_private=True,
        )
    finally:
        await engine.dispose()
    env = {
        "DATABASE_URL": api.database_url,
        "FUNCTION_TARGET": "dispatch-events",
        "BILLING_TELEMETRY": "off",
        "BILLING_WEBHOOK_ALLOW_PRIVATE": "true",
        "BILLING_DISPATCH_LEASE_SECONDS": "1",  # a killed dispatcher's claims come back soon
        "BILLING_DISPATCH_POLL_SECONDS": "0.2",
        "BILLING_DISPATCH_BATCH": "3",
    }
    made = 0
    kills = 0
    zygote = subprocess.Popen(
        [sys.executable, "-m", "tests.events.dispatcher_process"],
        env={**os.environ, **env},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
        text=True,
    )
    assert zygote.stdin is not None and zygote.stdout is not None
    try:
        for _ in range(KILLS):
            for _ in range(EVENTS_PER_ROUND):  # the burst goes on between kills
                await api.customer(email=f"c{made}@example.com")
                made += 1
            zygote.stdin.write("fork\n")
            zygote.stdin.flush()
            pid = int(await asyncio.wait_for(asyncio.to_thread(zygote.stdout.readline), 60))
            seen = len(found.received)
            deadline = time.monotonic() + 5.0  # bounded: kill once a delivery is under way, or after 5 s
            while len(found.received) == seen and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            os.kill(pid, signal.SIGKILL)
            await _gone(pid)
            kills += 1
    finally:
        zygote.stdin.close()
        try:
            await asyncio.to_thread(zygote.wait, 60)
        except subprocess.TimeoutExpired:
            zygote.kill()
    assert kills >= 20

    process, base = serve(env)
    try:
        await asyncio.to_thread(wait_ready, base, process)
        await found.wait_for(lambda: len({r.headers["webhook-id"] for r in found.received}) >= made, seconds=120)
        deadline = time.monotonic() + 120
        while (await _fetch(api, "SELECT count(*) AS n FROM webhook_deliveries WHERE status <> 'delivered'"))[0][
            "n"
        ] and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(process.wait, 60)
        except subprocess.TimeoutExpired:
            process.kill()
    events = await _fetch(api, "SELECT id FROM events WHERE type = 'customer.created'")
    assert len(events) == made
    assert {r.headers["webhook-id"] for r in found.received} == {e["id"] for e in events}  # none lost
    for received in found.received:  # retries reuse the event's id as webhook-id
        assert received.event["id"] == received.headers["webhook-id"]
    found.verified(hook.secret)
    pending = await _fetch(api, "SELECT count(*) AS n FROM webhook_deliveries WHERE status <> 'delivered'")
    assert pending[0]["n"] == 0
    # Some kills landed with claimed attempts in flight: those were attempted again.
    retried = await _fetch(api, "SELECT count(*) AS n FROM webhook_deliveries WHERE attempts > 1")
    assert retried[0]["n"] >= 1


async def _gone(pid: int) -> None:
    """Until the killed process no longer exists (reaped by the zygote's kernel), bounded."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"dispatcher {pid} still exists after SIGKILL")


async def _fetch(api: Api, statement: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(plain(api.database_url))
    try:
        return await conn.fetch(statement)
    finally:
        await conn.close()
