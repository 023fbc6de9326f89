"""Running `billing serve` as its own process, as Knative would: shared by the benchmarks
and the process-level tests (loopback only). Every wait is bounded and generous: the
machine may be shared and busy, and a slow start must not look like a failure."""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

BILLING = Path(sys.executable).parent / "billing"
READY_SECONDS = 300.0  # per process; a healthy start takes about a second on an idle machine
STOP_SECONDS = 120.0  # SIGTERM lets in-flight requests finish (up to 30 s) and closes the pool


# Below Linux's ephemeral range (32768-60999): a port handed out by bind(0) can be taken by any
# outgoing connection before the server binds it, and parallel test workers connect a lot.
_PORTS = range(20000, 32000, 2)


def free_port() -> int:
    """A loopback port that is free now, and so is the one above it (a combined `billing serve`
    puts its internal listener on PORT+1)."""
    for port in random.sample(_PORTS, 200):
        try:
            with socket.socket() as low, socket.socket() as high:
                low.bind(("127.0.0.1", port))
                high.bind(("127.0.0.1", port + 1))
        except OSError:
            continue
        return port
    raise RuntimeError("no free loopback port pair in 20000-32000")


def serve(env: dict[str, str], *, stderr: int | None = subprocess.DEVNULL) -> tuple[subprocess.Popen, str]:
    """Start `billing serve` on a free loopback port; return (process, base URL)."""
    port = free_port()
    full = {**os.environ, "HOST": "127.0.0.1", "PORT": str(port), **env}
    process = subprocess.Popen([str(BILLING), "serve"], env=full, stdout=subprocess.DEVNULL, stderr=stderr)
    return process, f"http://127.0.0.1:{port}"


def wait_ready(base: str, process: subprocess.Popen, *, path: str = "/ready", seconds: float = READY_SECONDS) -> None:
    """Poll until `path` answers 200; fail early if the process dies."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            detail = process.stderr.read().decode() if process.stderr else f"exit code {process.returncode}"
            raise AssertionError(f"{base} exited before it was ready: {detail}")
        try:
            with urllib.request.urlopen(base + path, timeout=10) as reply:
                if reply.status == 200:
                    return
        except OSError:
            time.sleep(0.02)  # fine-grained: bench.cold_start measures time to ready with it
    raise AssertionError(f"{base} was not ready within {seconds}s")


def stop(process: subprocess.Popen, *, seconds: float = STOP_SECONDS) -> int:
    """SIGTERM, wait for a graceful exit, SIGKILL if it does not come; the exit code."""
    if process.poll() is None:
        process.terminate()
    try:
        return process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait(timeout=seconds)
