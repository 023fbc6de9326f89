"""Cold start (process start to the first 200 from /ready) and RSS of each function,
started alone as its own process, one after another, as Knative would start a pod.

    python -m bench.cold_start [--function NAME ...]
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil

from bench.common import scratch_database
from shared.runtime.registry import all_operations


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def measure(name: str, url: str, signature: str) -> dict:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "FUNCTION_TARGET": name, "FUNCTION_SIGNATURE_TYPE": signature,
           "PORT": str(port), "HOST": "127.0.0.1"}
    started = time.perf_counter()
    process = subprocess.Popen([str(Path(sys.executable).parent / "billing"), "serve"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            if process.poll() is not None or time.perf_counter() - started > 60:
                raise RuntimeError(f"{name} did not start")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=1) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                time.sleep(0.01)
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
    print(json.dumps({"benchmark": "cold_start", "functions": len(rows), "cold_start_median_seconds": colds[len(colds) // 2],
                      "cold_start_max_seconds": colds[-1], "rss_median_mib": rss[len(rss) // 2], "rss_max_mib": rss[-1]}))


if __name__ == "__main__":
    main()
