"""Crash tests: `billing serve` and `billing renew` SIGKILLed at each failpoint (see
shared.failpoints), restarted without it, and retried. Whatever the moment of death, the
retry either runs afresh (nothing had committed) or replays the committed response; it is
never refused as "in progress" and never bills twice."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest

from bench.processes import serve, wait_ready
from bench.seed import seed_due_subscriptions
from shared import failpoints
from tests.faults.audit import audit

KEY = "sk_test_crash_recovery_key"
REPLAYED = "Idempotent-Replayed"
API_FAILPOINTS = [failpoints.NUMBERS_LOCKED, failpoints.INVOICES_WRITTEN, failpoints.COMMITTED]
RENEWAL_FAILPOINTS = [failpoints.NUMBERS_LOCKED, failpoints.INVOICES_WRITTEN, failpoints.COMMITTED]
TIMEOUT = aiohttp.ClientTimeout(total=60)


@contextmanager
def server(database_url: str, log: Path, *, failpoint: str = "") -> Iterator[tuple[subprocess.Popen, str]]:
    """`billing serve` on the test's database, in its own process; stopped on the way out."""
    with log.open("ab") as sink:
        process, base = serve(
            {
                "DATABASE_URL": database_url,
                "FUNCTION_TARGET": "",
                "BILLING_TELEMETRY": "off",
                "BILLING_BOOTSTRAP_API_KEY": KEY,
                "BILLING_FAILPOINTS": failpoint,
            },
            stderr=sink,
        )
    try:
        wait_ready(base, process)  # generous: the machine is shared
        yield process, base
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=60)


@asynccontextmanager
async def client(base: str) -> AsyncIterator[aiohttp.ClientSession]:
    headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
    async with aiohttp.ClientSession(base, headers=headers, timeout=TIMEOUT) as session:
        yield session


async def post(
    session: aiohttp.ClientSession, path: str, body: dict[str, Any], headers: dict[str, str] | None = None
) -> tuple[int, Any, Any]:
    async with session.post(path, json=body, headers=headers or {}) as reply:
        return reply.status, await reply.json(content_type=None), reply.headers


def died_at(process: subprocess.Popen, log: Path, failpoint: str) -> None:
    assert process.wait(timeout=60) == -signal.SIGKILL
    assert f"failpoint {failpoint}: SIGKILL" in log.read_text(errors="replace")


@pytest.mark.parametrize("failpoint", API_FAILPOINTS)
async def test_a_subscription_whose_server_was_killed_is_retried_exactly_once(
    database_url: str, tmp_path: Path, failpoint: str
) -> None:
    log = tmp_path / "serve.log"
    subscribe = {"Idempotency-Key": f"subscribe-{failpoint}"}
    with server(database_url, log, failpoint=failpoint) as (process, base):
        async with client(base) as session:
            # Setup writes no invoice and sends no key: no failpoint on its path.
            status, customer, _ = await post(session, "/v1/customers", {"email": "ada@example.com", "name": "Ada"})
            assert status == 201, customer
            status, plan, _ = await post(
                session,
                "/v1/plans",
                {"code": "pro", "name": "Pro", "amount": 1999, "currency": "USD", "interval": "month"},
            )
            assert status == 201, plan
            body = {"customer_id": customer["id"], "plan_id": plan["id"]}
            with pytest.raises(aiohttp.ClientError):  # the server dies mid-request
                await post(session, "/v1/subscriptions", body, subscribe)
        died_at(process, log, failpoint)

    committed = failpoint == failpoints.COMMITTED
    assert (await audit(database_url)).subscriptions == (1 if committed else 0)

    with server(database_url, log) as (_, base):  # restarted, no failpoint
        async with client(base) as session:
            status, retried, headers = await post(session, "/v1/subscriptions", body, subscribe)
            assert status == 201, retried  # never 409 "in progress"
            # Committed before the crash: the stored response, not a second execution.
            assert (headers.get(REPLAYED) == "true") is committed
            status, again, headers = await post(session, "/v1/subscriptions", body, subscribe)
            assert status == 201 and again == retried and headers.get(REPLAYED) == "true"

    after = await audit(database_url)
    assert (after.subscriptions, after.invoices, after.keys_in_progress) == (1, 1, 0)
    conn = await asyncpg.connect(database_url)
    try:
        assert await conn.fetchval("SELECT id FROM subscriptions") == retried["id"]
        assert (
            await conn.fetchval("SELECT state FROM idempotency_keys WHERE key = $1", subscribe["Idempotency-Key"])
            == "done"
        )
    finally:
        await conn.close()


NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


def renew(database_url: str, failpoint: str = "") -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": database_url, "BILLING_TELEMETRY": "off", "BILLING_FAILPOINTS": failpoint}
    command = [sys.executable, "-m", "shared.runtime.cli", "renew", "--at", NOW.isoformat(), "--batch-size", "50"]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("failpoint", RENEWAL_FAILPOINTS)
async def test_a_renewal_killed_at_a_failpoint_and_rerun_bills_each_period_once(
    database_url: str, failpoint: str
) -> None:
    subscriptions = 300
    await seed_due_subscriptions(database_url, subscriptions, NOW, months_due=2)
    killed = await asyncio.to_thread(renew, database_url, failpoint)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert f"failpoint {failpoint}: SIGKILL" in killed.stderr
    partial = await audit(database_url)
    # Only committed batches survive (50 whole subscriptions, two periods each): none if the
    # run died holding the numbering lock, else the one that committed (two workers: its
    # sibling's commit may have landed before the kill too).
    assert partial.invoices in ((100, 200) if failpoint == failpoints.COMMITTED else (0,))

    rerun = await asyncio.to_thread(renew, database_url)
    assert rerun.returncode == 0, rerun.stderr
    final = await audit(database_url)
    assert (final.subscriptions, final.invoices) == (subscriptions, subscriptions * 2)
