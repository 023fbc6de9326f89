"""Requests per second with OpenTelemetry instrumentation on and off.

    python -m bench.http_overhead [--requests 4000] [--concurrency 16]

Starts `billing serve` twice as separate processes (BILLING_TELEMETRY=on / off) on the
same scratch database, and drives each with the same mix: GET a customer by id (auth,
one query) and GET the customer list. Loopback only; bounded in count and time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

import aiohttp

from bench.common import scratch_database
from bench.processes import serve, wait_ready

KEY = "sk_bench_overhead_key_0123456789abcdef"


async def load(base: str, requests: int, concurrency: int) -> float:
    headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
    async with aiohttp.ClientSession(headers=headers) as session:
        async with session.post(
            f"{base}/v1/customers", json={"email": f"{time.time_ns()}@bench.example", "name": "Bench"}
        ) as reply:
            customer = (await reply.json())["id"]
        paths = [f"/v1/customers/{customer}", "/v1/customers?limit=5"]
        for path in paths:  # warm up
            async with session.get(base + path) as reply:
                assert reply.status == 200, await reply.text()
        counter = iter(range(requests))

        async def worker() -> None:
            for n in counter:
                async with session.get(base + paths[n % 2]) as reply:
                    await reply.read()
                    assert reply.status == 200

        started = time.perf_counter()
        await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(concurrency))), timeout=300)
        return requests / (time.perf_counter() - started)


def measure(url: str, telemetry: str, requests: int, concurrency: int) -> float:
    server, base = serve(
        {
            "DATABASE_URL": url,
            "BILLING_TELEMETRY": telemetry,
            "BILLING_BOOTSTRAP_API_KEY": KEY,
            "FUNCTION_TARGET": "",
            "BILLING_RATE_LIMIT_PER_SECOND": "0",
        }
    )  # measure serving, not 429s
    try:
        wait_ready(base, server)
        return asyncio.run(load(base, requests, concurrency))
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    with scratch_database() as url:
        off = measure(url, "off", args.requests, args.concurrency)
        on = measure(url, "on", args.requests, args.concurrency)
    print(
        json.dumps(
            {
                "benchmark": "http_overhead",
                "requests": args.requests,
                "concurrency": args.concurrency,
                "rps_telemetry_off": round(off),
                "rps_telemetry_on": round(on),
                "on_off_ratio": round(on / off, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
