"""Cold start (process start to the first 200 from /ready) and RSS of each function,
started alone as its own process, one after another, as Knative would start a pod.

    python -m bench.cold_start [--function NAME ...]
"""

from __future__ import annotations

import argparse
import json
import signal
import time

import psutil

from bench.common import scratch_database
from bench.processes import serve, wait_ready
from shared.runtime.registry import all_operations


def measure(name: str, url: str, signature: str) -> dict:
    started = time.perf_counter()
    process, base = serve({"DATABASE_URL": url, "FUNCTION_TARGET": name, "FUNCTION_SIGNATURE_TYPE": signature})
    try:
        wait_ready(base, process, seconds=60)
        cold = time.perf_counter() - started
        rss = psutil.Process(process.pid).memory_info().rss
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    return {"function": name, "cold_start_seconds": round(cold, 3), "rss_mib": round(rss / 2**20, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--function", action="append", help="measure only these (default: every function)")
    args = parser.parse_args()
    ops = [op for op in all_operations() if not args.function or op.name in args.function]
    with scratch_database() as url:
        rows = [measure(op.name, url, op.signature) for op in ops]
    for row in rows:
        print(json.dumps(row))
    colds = sorted(r["cold_start_seconds"] for r in rows)
    rss = sorted(r["rss_mib"] for r in rows)
    print(
        json.dumps(
            {
                "benchmark": "cold_start",
                "functions": len(rows),
                "cold_start_median_seconds": colds[len(colds) // 2],
                "cold_start_max_seconds": colds[-1],
                "rss_median_mib": rss[len(rss) // 2],
                "rss_max_mib": rss[-1],
            }
        )
    )


if __name__ == "__main__":
    main()
