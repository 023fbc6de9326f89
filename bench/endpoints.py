"""Requests/s and p50/p99 per endpoint and concurrency, next to the raw ceiling.

    python -m bench.endpoints [--requests 2000] [--concurrency 16 --concurrency 64] [--rounds 3]

One `billing serve` process (telemetry on), one with telemetry off, and the raw ceiling
(bench.ceiling: bare aiohttp + one asyncpg PK SELECT) run on one scratch database; a load
generator (bench.load) in its own process drives each endpoint in turn, rounds interleaved,
and every figure is the median of the rounds. Targets are ratios to the ceiling measured in
the same run. Loopback only; bounded in count and time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
from contextlib import ExitStack

import aiohttp
import asyncpg

from bench.common import scratch_database
from bench.processes import free_port, serve, stop, wait_ready

KEY = "sk_bench_endpoints_key_0123456789abcdef"
AUTH = f"Authorization:Bearer {KEY}"
LOAD_SECONDS = 600


async def seed(base: str, url: str) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {KEY}"}
    async with aiohttp.ClientSession(headers=headers) as session:

        async def post(path: str, body: dict) -> dict:
            async with session.post(base + path, json=body) as reply:
                assert reply.status < 300, await reply.text()
                return await reply.json()

        plan = await post(
            "/v1/plans", {"code": "bench", "name": "Bench", "amount": 1999, "currency": "USD", "interval": "month"}
        )
        customer = await post("/v1/customers", {"email": "bench@bench.example", "name": "Bench"})
        subscription = await post("/v1/subscriptions", {"customer_id": customer["id"], "plan_id": plan["id"]})
        async with session.get(f"{base}/v1/invoices?subscription_id={subscription['id']}") as reply:
            invoice = (await reply.json())["data"][0]
    conn = await asyncpg.connect(url)
    try:
        tenant = await conn.fetchval("SELECT tenant_id FROM invoices WHERE id = $1", invoice["id"])
    finally:
        await conn.close()
    return {
        "plan": plan["id"],
        "customer": customer["id"],
        "subscription": subscription["id"],
        "invoice": invoice["id"],
        "tenant": tenant,
    }


def drive(url: str, requests: int, concurrency: int, *, method: str = "GET", body: str | None = None) -> dict:
    command = [sys.executable, "-m", "bench.load", "--url", url, "--method", method, "--header", AUTH]
    command += [
        "--header",
        "Content-Type:application/json",
        "--requests",
        str(requests),
        "--concurrency",
        str(concurrency),
    ]
    if body is not None:
        command += ["--body", body]
    out = subprocess.run(command, capture_output=True, text=True, timeout=LOAD_SECONDS, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def run(requests: int = 2000, concurrencies: tuple[int, ...] = (16, 64), rounds: int = 3) -> dict:
    """Every figure: {endpoint: {concurrency: {rps, p50_ms, p99_ms, errors, ratio_to_ceiling}}}."""
    with scratch_database() as url, ExitStack() as stack:
        env = {
            "DATABASE_URL": url,
            "BILLING_BOOTSTRAP_API_KEY": KEY,
            "FUNCTION_TARGET": "",
            "BILLING_RATE_LIMIT_PER_SECOND": "0",
        }
        servers = {}
        for telemetry in ("on", "off"):
            process, base = serve({**env, "BILLING_TELEMETRY": telemetry})
            stack.callback(stop, process)
            wait_ready(base, process)
            servers[telemetry] = base
        port = free_port()
        ceiling = subprocess.Popen(
            [sys.executable, "-m", "bench.ceiling", "--port", str(port), "--database-url", url],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        stack.callback(stop, ceiling)
        ceiling_base = f"http://127.0.0.1:{port}"
        wait_ready(ceiling_base, ceiling, path="/health")
        ids = asyncio.run(seed(servers["on"], url))
        base = servers["on"]
        targets = {
            "ceiling": (f"{ceiling_base}/invoices/{ids['invoice']}?tenant={ids['tenant']}", "GET", None),
            "get_invoice": (f"{base}/v1/invoices/{ids['invoice']}", "GET", None),
            "get_invoice_telemetry_off": (f"{servers['off']}/v1/invoices/{ids['invoice']}", "GET", None),
            "get_subscription": (f"{base}/v1/subscriptions/{ids['subscription']}", "GET", None),
            "list_invoices": (f"{base}/v1/invoices?customer_id={ids['customer']}&limit=10", "GET", None),
            "create_subscription": (
                f"{base}/v1/subscriptions",
                "POST",
                json.dumps({"customer_id": ids["customer"], "plan_id": ids["plan"]}),
            ),
        }
        samples: dict[str, dict[int, list[dict]]] = {name: {c: [] for c in concurrencies} for name in targets}
        for target, method, body in targets.values():  # warm-up
            drive(target, 50, 4, method=method, body=body)
        for round_ in range(rounds):
            for concurrency in concurrencies:
                names = list(targets)
                if round_ % 2:  # telemetry on and off back to back, in alternating order: no position bias
                    i, j = names.index("get_invoice"), names.index("get_invoice_telemetry_off")
                    names[i], names[j] = names[j], names[i]
                for name in names:
                    target, method, body = targets[name]
                    n = requests // 4 if method == "POST" else requests  # writes are slower: fewer of them
                    samples[name][concurrency].append(drive(target, n, concurrency, method=method, body=body))
    figures: dict = {"requests": requests, "rounds": rounds, "endpoints": {}}
    for name, by_concurrency in samples.items():
        figures["endpoints"][name] = {}
        for concurrency, runs in by_concurrency.items():
            figures["endpoints"][name][concurrency] = {
                key: round(statistics.median(r[key] for r in runs), 2) for key in ("rps", "p50_ms", "p99_ms")
            } | {"errors": sum(r["errors"] for r in runs)}
    for by_concurrency in figures["endpoints"].values():
        for concurrency, row in by_concurrency.items():
            row["ratio_to_ceiling"] = round(row["rps"] / figures["endpoints"]["ceiling"][concurrency]["rps"], 3)
    # The median of each round's ratio (the two runs of a round are adjacent in time: the
    # machine's changing load cancels out better than in a ratio of medians).
    figures["telemetry_on_off_ratio"] = {
        c: round(
            statistics.median(
                on["rps"] / off["rps"]
                for on, off in zip(samples["get_invoice"][c], samples["get_invoice_telemetry_off"][c], strict=True)
            ),
            3,
        )
        for c in concurrencies
    }
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, action="append")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    figures = run(args.requests, tuple(args.concurrency or (16, 64)), args.rounds)
    print(json.dumps({"benchmark": "endpoints", **figures}))


if __name__ == "__main__":
    main()
