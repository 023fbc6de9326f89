"""A test-clock advance survives its process: SIGKILL `billing serve` mid-advance, start a
fresh one, and the advance finishes with every period invoiced exactly once."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from datetime import UTC, datetime

import aiohttp
import asyncpg

from bench.processes import serve, wait_ready
from tests.conftest import BOOTSTRAP_KEY

HEADERS = {"Authorization": f"Bearer {BOOTSTRAP_KEY}", "Content-Type": "application/json"}
START, TARGET = datetime(2030, 1, 1, tzinfo=UTC), datetime(2090, 1, 1, tzinfo=UTC)


def start(database_url: str) -> tuple[subprocess.Popen, str]:
    # A short lease, so the second process takes over soon after the first one dies.
    return serve(
        {
            "DATABASE_URL": database_url,
            "BILLING_BOOTSTRAP_API_KEY": BOOTSTRAP_KEY,
            "BILLING_TELEMETRY": "off",
            "BILLING_CLOCK_LEASE_SECONDS": "3",
            "BILLING_CLOCK_POLL_SECONDS": "1",
            "BILLING_RENEWAL_INVOICE_BUDGET": "500",
        },
        stderr=subprocess.PIPE,
    )


async def post(session: aiohttp.ClientSession, url: str, body: dict, expect: int) -> dict:
    async with session.post(url, json=body, headers=HEADERS) as reply:
        payload = await reply.json(content_type=None)
        assert reply.status == expect, payload
        return payload


async def test_an_advance_killed_mid_way_is_finished_by_the_next_process(database_url: str) -> None:
    process, base = start(database_url)
    conn = await asyncpg.connect(database_url)
    try:
        await asyncio.to_thread(wait_ready, base, process)
        async with aiohttp.ClientSession() as session:
            clock = await post(session, f"{base}/v1/test_clocks", {"frozen_time": START.isoformat()}, 201)
            customer = await post(
                session, f"{base}/v1/customers", {"email": "d@example.com", "name": "D", "test_clock": clock["id"]}, 201
            )
            # Free, so no dunning ends it early: every day of the 60 years is invoiced (paid).
            plan = await post(
                session,
                f"{base}/v1/plans",
                {"code": "daily", "name": "Daily", "amount": 0, "currency": "USD", "interval": "day"},
                201,
            )
            subscription = await post(
                session, f"{base}/v1/subscriptions", {"customer_id": customer["id"], "plan_id": plan["id"]}, 201
            )
            reply = await post(
                session, f"{base}/v1/test_clocks/{clock['id']}/advance", {"frozen_time": TARGET.isoformat()}, 200
            )
            assert reply["status"] == "advancing"

            expected = (TARGET - START).days + 1
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:  # kill once some, but not all, batches committed
                if await conn.fetchval("SELECT count(*) FROM invoices") >= 2000:
                    break
                await asyncio.sleep(0.005)
            process.send_signal(signal.SIGKILL)
            process.wait(30)
            partial = await conn.fetchval("SELECT count(*) FROM invoices")
            status = await conn.fetchval("SELECT status FROM test_clocks WHERE id = $1", clock["id"])
            assert 2000 <= partial < expected and status == "advancing", (partial, status)

            process, base = start(database_url)
            await asyncio.to_thread(wait_ready, base, process)
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                async with session.get(f"{base}/v1/test_clocks/{clock['id']}", headers=HEADERS) as got:
                    assert got.status == 200
                    if (await got.json())["status"] == "ready":
                        break
                await asyncio.sleep(0.2)
            else:
                raise AssertionError("the advance did not finish after the restart")

        rows = await conn.fetch(
            "SELECT number, period_start, period_end, test_clock_id FROM invoices WHERE subscription_id = $1 "
            "ORDER BY period_start",
            subscription["id"],
        )
        assert len(rows) == expected
        assert len({r["period_start"] for r in rows}) == expected  # no period twice
        assert rows[0]["period_start"] == START and rows[-1]["period_start"] == TARGET
        assert all(a["period_end"] == b["period_start"] for a, b in zip(rows, rows[1:]))
        assert sorted(r["number"] for r in rows) == list(range(1, expected + 1))  # gap-free
        assert {r["test_clock_id"] for r in rows} == {subscription["test_clock"]}  # the clock's own sequence
    finally:
        await conn.close()
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(60)
