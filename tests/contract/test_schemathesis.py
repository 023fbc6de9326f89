"""Schemathesis (pinned in pyproject.toml) against a real `billing serve` process and database:
every check, all phases including stateful, a fixed seed, every operation of both listeners.
0 server errors and 0 conformance failures; the only exceptions are IGNORED in
schemathesis_hooks.py, each with its reason. Bounded by max examples per operation and
stateful steps (schemathesis.toml), so it takes about a minute."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bench.processes import free_port, serve, wait_ready

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
ST = Path(sys.executable).parent / "st"
KEY = "sk_test_schemathesis_default_tenant_key"
SEED = "20261125"
MAX_EXAMPLES = "25"


def schemathesis(document: str, workdir: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "BILLING_SCHEMATHESIS_KEY": KEY,
        "SCHEMATHESIS_HOOKS": "tests.contract.schemathesis_hooks",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    command = [
        str(ST),
        "--config-file",
        str(HERE / "schemathesis.toml"),
        "--no-color",
        "run",
        document,
        "--checks",
        "all",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--seed",
        SEED,
        "--max-examples",
        MAX_EXAMPLES,
        "--workers",
        "1",
        "--request-timeout",
        "60",
        "--generation-database",
        "none",
        "--max-failures",
        "20",
    ]
    # Its crash cache (.schemathesis/) goes to the working directory: a temporary one.
    return subprocess.run(command, env=env, cwd=workdir, capture_output=True, text=True, timeout=900)


def test_schemathesis_finds_nothing(database_url: str, tmp_path: Path) -> None:
    internal_port = free_port()
    log = (tmp_path / "serve.log").open("wb")  # a file, not a pipe: a full pipe would block the server
    process, public = serve(
        {
            "DATABASE_URL": database_url,
            "BILLING_BOOTSTRAP_API_KEY": KEY,
            "BILLING_INTERNAL_PORT": str(internal_port),
            # Schemathesis sends hundreds of deliberately unauthenticated requests from one
            # address; the failed-authentication limit (tested in tests/api) would answer them
            # 429 where the contract is 401.
            "BILLING_AUTH_FAILURES_PER_SECOND": "100000",
            "BILLING_AUTH_FAILURE_BURST": "100000",
        },
        stderr=log.fileno(),
    )
    internal = f"http://127.0.0.1:{internal_port}"
    try:
        wait_ready(public, process)
        for base in (public, internal):  # the API; the internal renewal trigger
            done = schemathesis(base + "/openapi.json", tmp_path)
            assert done.returncode == 0, f"schemathesis against {base}:\n{done.stdout[-20000:]}\n{done.stderr[-5000:]}"
            assert "Tested:" in done.stdout and " 0 failures" not in done.stdout.replace("No failures", "")
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)
        log.close()
