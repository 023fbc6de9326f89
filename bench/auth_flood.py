"""A real tenant's latency while another client floods the server with made-up API keys.

    python -m bench.auth_flood [--seconds 5] [--rate 300]

Starts `billing serve` (one process) twice on one scratch database: with the failed-auth
limit off (every made-up key costs a query) and at its default. In each, a tenant reads
its customers one request at a time, first alone, then while 127.0.0.2 sends distinct bad
keys at a fixed rate. Loopback only; bounded in time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time

import aiohttp

from bench.common import scratch_database
from bench.processes import serve, wait_ready

KEY = "sk_bench_flood_key_0123456789abcdef"


async def tenant(session: aiohttp.ClientSession, base: str, seconds: float) -> list[float]:
    latencies: list[float] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.perf_counter()
        async with session.get(f"{base}/v1/customers", headers={"Authorization": f"Bearer {KEY}"}) as reply:
            await reply.read()
            assert reply.status == 200, reply.status
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


async def flood(base: str, seconds: float, rate: int) -> dict[int, int]:
    """Open loop: `rate` distinct bad keys a second, whatever the server's pace (at most
    512 in flight), as an attacker would send them."""
    statuses: dict[int, int] = {}
    in_flight = asyncio.Semaphore(512)
    connector = aiohttp.TCPConnector(local_addr=("127.0.0.2", 0), limit=512)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(n: int) -> None:
            async with (
                in_flight,
                session.get(f"{base}/v1/customers", headers={"Authorization": f"Bearer sk_made_up_{n}"}) as reply,
            ):
                await reply.read()
                statuses[reply.status] = statuses.get(reply.status, 0) + 1

        started = time.monotonic()
        tasks = []
        for n in range(int(seconds * rate)):
            await asyncio.sleep(max(0.0, started + n / rate - time.monotonic()))
            tasks.append(asyncio.create_task(one(n)))
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=120)
    return statuses


def summary(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    return {
        "requests": len(ordered),
        "p50_ms": round(statistics.median(ordered), 1),
        "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1], 1),
    }


async def measure(base: str, seconds: float, rate: int) -> dict[str, object]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        await tenant(session, base, 0.5)  # warm up
        alone = await tenant(session, base, seconds)
        during, statuses = await asyncio.gather(tenant(session, base, seconds), flood(base, seconds, rate))
    return {"alone": summary(alone), "during_flood": summary(during), "flood_replies": statuses}


def run(url: str, failure_rate: str, seconds: float, rate: int) -> dict[str, object]:
    server, base = serve(
        {
            "DATABASE_URL": url,
            "BILLING_BOOTSTRAP_API_KEY": KEY,
            "BILLING_TELEMETRY": "off",
            "FUNCTION_TARGET": "",
            "BILLING_RATE_LIMIT_PER_SECOND": "0",
            "BILLING_AUTH_FAILURES_PER_SECOND": failure_rate,
        }
    )
    try:
        wait_ready(base, server)
        return asyncio.run(measure(base, seconds, rate))
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--rate", type=int, default=300, help="bad keys per second")
    args = parser.parse_args()
    with scratch_database() as url:
        report = {
            "limit_off": run(url, "0", args.seconds, args.rate),
            "limit_default": run(url, "", args.seconds, args.rate),
        }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
