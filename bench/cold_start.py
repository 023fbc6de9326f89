"""Cold start (process start to the first 200 on /health, then on /ready, a database route)
and RSS of each function, started alone as its own process, one after another, as Knative
would start a pod. Each figure is the median of `--repeats` starts.

    python -m bench.cold_start [--function NAME ...] [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import signal
import statistics
import time

import psutil

from bench.common import scratch_database
from bench.processes import serve, wait_ready
from shared.runtime.registry import all_operations

HOT = ("get-invoice", "get-subscription", "list-invoices", "create-subscription")


def measure(name: str, url: str, signature: str) -> dict:
    started = time.perf_counter()
    process, base = serve({"DATABASE_URL": url, "FUNCTION_TARGET": name, "FUNCTION_SIGNATURE_TYPE": signature})
    try:
        wait_ready(base, process, path="/health", seconds=60)
        health = time.perf_counter() - started
        wait_ready(base, process, seconds=60)
        ready = time.perf_counter() - started
        rss = psutil.Process(process.pid).memory_info().rss
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    return {"health_seconds": health, "ready_seconds": ready, "rss_mib": rss / 2**20}


def run(functions: tuple[str, ...] = HOT, repeats: int = 5) -> dict:
    """{function: {health_seconds, ready_seconds, rss_mib}} (medians) and overall medians."""
    ops = {op.name: op for op in all_operations()}
    rows: dict[str, dict] = {}
    with scratch_database() as url:
        for name in functions:
            samples = [measure(name, url, ops[name].signature) for _ in range(repeats)]
            rows[name] = {
                key: round(statistics.median(s[key] for s in samples), 3 if key != "rss_mib" else 1)
                for key in ("health_seconds", "ready_seconds", "rss_mib")
            }
    return {
        "repeats": repeats,
        "functions": rows,
        "health_median_seconds": statistics.median(r["health_seconds"] for r in rows.values()),
        "ready_median_seconds": statistics.median(r["ready_seconds"] for r in rows.values()),
        "rss_max_mib": max(r["rss_mib"] for r in rows.values()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--function", action="append", help=f"measure only these (default: {', '.join(HOT)})")
    parser.add_argument("--all", action="store_true", help="every function")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    names = tuple(op.name for op in all_operations()) if args.all else tuple(args.function or HOT)
    print(json.dumps({"benchmark": "cold_start", **run(names, args.repeats)}))


if __name__ == "__main__":
    main()
