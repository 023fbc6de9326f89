"""A small HTTP load generator, run as its own process so it does not share the server's CPU
time slice: N requests at concurrency C, each worker sending one request at a time.

    python -m bench.load --url URL [--method GET] [--body JSON] [--header K:V] --requests N --concurrency C

Prints one JSON line: requests/s, p50/p99 latency in ms, errors. Bounded in count and time.
A body containing "{n}" is formatted with the request's number (unique bodies per request).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time

import aiohttp

TIMEOUT_SECONDS = 300.0


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def load(
    url: str, method: str, body: str | None, headers: dict[str, str], requests: int, concurrency: int
) -> dict:
    latencies: list[float] = []
    errors = 0
    counter = iter(range(requests))
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(headers=headers, connector=connector) as session:

        async def worker() -> None:
            nonlocal errors
            for n in counter:
                data = body.replace("{n}", str(n)).encode() if body is not None else None
                started = time.perf_counter()
                try:
                    async with session.request(method, url, data=data) as reply:
                        await reply.read()
                        ok = reply.status < 400
                except aiohttp.ClientError:
                    ok = False
                latencies.append(time.perf_counter() - started)
                errors += not ok

        started = time.perf_counter()
        await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(concurrency))), timeout=TIMEOUT_SECONDS)
        elapsed = time.perf_counter() - started
    return {
        "requests": requests,
        "concurrency": concurrency,
        "rps": round(requests / elapsed, 1),
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 2),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
        "errors": errors,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--method", default="GET")
    parser.add_argument("--body")
    parser.add_argument("--header", action="append", default=[])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    if not args.url.startswith(("http://127.0.0.1", "http://localhost")):
        sys.exit("loopback only")
    headers = dict(h.split(":", 1) for h in args.header)
    result = asyncio.run(load(args.url, args.method, args.body, headers, args.requests, args.concurrency))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
