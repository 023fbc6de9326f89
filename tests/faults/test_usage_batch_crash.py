"""A usage batch is one transaction: `billing serve` SIGKILLed after the batch's rows were
sent (not committed) leaves none of them; the resend after a restart stores all of them."""

from __future__ import annotations

import contextlib
from pathlib import Path

import aiohttp
import asyncpg

from shared import failpoints
from tests.faults.test_crash_recovery import client, died_at, post, server


async def test_sigkill_during_a_large_batch_leaves_all_or_nothing(database_url: str, tmp_path: Path) -> None:
    log = tmp_path / "serve.log"
    with server(database_url, log, failpoint=failpoints.USAGE_WRITTEN) as (process, base):
        async with client(base) as session:
            status, meter, _ = await post(
                session, "/v1/meters", {"code": "calls", "name": "Calls", "aggregation": "count"}
            )
            assert status == 201, meter
            status, customer, _ = await post(session, "/v1/customers", {"email": "a@example.com", "name": "A"})
            assert status == 201, customer
            batch = {
                "events": [
                    {"id": f"e{n}", "customer": customer["id"], "meter": "calls", "timestamp": customer["created_at"]}
                    for n in range(1000)
                ]
            }
            with contextlib.suppress(aiohttp.ClientError):  # the connection dies with the process
                await post(session, "/v1/usage_events/batch", batch)
        died_at(process, log, failpoints.USAGE_WRITTEN)
    conn = await asyncpg.connect(database_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM usage_events") == 0
        assert await conn.fetchval("SELECT count(*) FROM usage_event_ids") == 0
        with server(database_url, log) as (_, base):
            async with client(base) as session:
                status, body, _ = await post(session, "/v1/usage_events/batch", batch)
        assert status == 200, body
        assert {r["status"] for r in body["results"]} == {"accepted"}
        assert await conn.fetchval("SELECT count(*) FROM usage_events") == 1000
        assert await conn.fetchval("SELECT count(*) FROM usage_event_ids") == 1000
    finally:
        await conn.close()
