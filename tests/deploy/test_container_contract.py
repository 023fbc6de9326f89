"""The Knative container contract, tested locally: each function runs alone as its own
process (FUNCTION_TARGET, PORT), serves only its routes plus health, metrics and docs,
becomes ready, and stops gracefully on SIGTERM (in-flight requests finish, pool closed).

The functions start in waves of a few processes, never all at once: on a busy 2-core
machine thirty processes starting together take minutes, and a slow start is not a failure."""

import asyncio
import json
import re
import signal
import subprocess
import time
from datetime import UTC, datetime

import aiohttp
import asyncpg

from bench.processes import STOP_SECONDS, serve, stop, wait_ready
from bench.seed import seed_due_subscriptions
from shared.runtime.registry import Operation, all_operations
from tests.conftest import BOOTSTRAP_KEY

WAVE = 4  # processes starting at once


def start(target: str, database_url: str, **extra: str) -> tuple[subprocess.Popen, str]:
    return serve(
        {"DATABASE_URL": database_url, "FUNCTION_TARGET": target, "BILLING_BOOTSTRAP_API_KEY": BOOTSTRAP_KEY, **extra},
        stderr=subprocess.PIPE,
    )


def concrete(op: Operation) -> str:
    return re.sub(r"\{\w+\}", "obj_x", op.path)  # every path parameter


async def routed(session: aiohttp.ClientSession, base: str, op: Operation) -> bool:
    """Did a handler answer (even with its own 4xx), rather than the router's 404/405?"""
    async with session.request(
        op.method,
        base + concrete(op),
        data=b"{}",
        headers={"Authorization": f"Bearer {BOOTSTRAP_KEY}", "Content-Type": "application/json"},
    ) as reply:
        body = await reply.json(content_type=None)
        return not (reply.status == 405 or (reply.status == 404 and body["detail"].startswith("no route")))


async def test_each_function_alone_serves_only_its_own_routes_and_stops_on_sigterm(database_url: str) -> None:
    operations = all_operations()
    started: list[subprocess.Popen] = []
    try:
        async with aiohttp.ClientSession() as session:
            for first in range(0, len(operations), WAVE):
                wave = list(enumerate(operations))[first : first + WAVE]
                processes = {op.name: start(op.name, database_url) for _, op in wave}
                started.extend(process for process, _ in processes.values())
                await asyncio.gather(*(asyncio.to_thread(wait_ready, base, proc) for proc, base in processes.values()))
                for index, op in wave:
                    _, base = processes[op.name]
                    assert await routed(session, base, op), op.name
                    # Another function's route, unless it shares this one's method and path family:
                    other = operations[(index + 1) % len(operations)]
                    assert not await routed(session, base, other), (op.name, other.name)
                    for path in ("/health", "/metrics", "/docs"):
                        async with session.get(base + path) as reply:
                            assert reply.status == 200, (op.name, path)
                    async with session.get(f"{base}/openapi.json") as reply:
                        assert list((await reply.json())["paths"]) == [op.path], op.name
                for process, _ in processes.values():
                    process.send_signal(signal.SIGTERM)
                for name, (process, _) in processes.items():
                    assert await asyncio.to_thread(process.wait, STOP_SECONDS) == 0, name
    finally:
        for process in started:  # whatever failed above, no process outlives the test
            stop(process)


async def test_sigterm_lets_the_in_flight_renewal_finish_and_closes_the_pool(database_url: str) -> None:
    now = datetime.now(UTC)
    await seed_due_subscriptions(database_url, 15000, now)
    process, base = start("renew", database_url, FUNCTION_SIGNATURE_TYPE="cloudevent")
    event = {"specversion": "1.0", "type": "dev.knative.sources.ping", "source": "/test", "id": "1"}
    try:
        async with aiohttp.ClientSession() as session:
            await asyncio.to_thread(wait_ready, base, process)
            request = asyncio.ensure_future(
                session.post(
                    f"{base}/", data=json.dumps(event), headers={"Content-Type": "application/cloudevents+json"}
                )
            )
            conn = await asyncpg.connect(database_url)
            try:
                deadline = time.monotonic() + 300
                while not await conn.fetchval("SELECT count(*) FROM invoices"):  # until the run is under way
                    assert time.monotonic() < deadline and not request.done(), "the renewal never started"
                    await asyncio.sleep(0.01)
                process.send_signal(signal.SIGTERM)
                reply = await request
                report = await reply.json()
                assert reply.status == 200 and report["invoices_created"] == 15000
                assert await asyncio.to_thread(process.wait, STOP_SECONDS) == 0
                leftover = await conn.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'billing'"
                    " AND datname = current_database()"
                )
                assert leftover == 0
            finally:
                await conn.close()
    finally:
        stop(process)
