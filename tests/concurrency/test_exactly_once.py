"""Exactly once under concurrency and crashes, against the real database."""

import asyncio
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime

import asyncpg
from sqlalchemy.ext.asyncio import create_async_engine

from bench.seed import seed_due_subscriptions
from shared.db.engine import async_url
from shared.renewal import Scope, renew

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


async def _audit(url: str, expected_per_subscription: int) -> dict:
    """Every subscription has exactly the expected cycle invoices, contiguous, and every
    sequence's invoice numbers (a tenant's real ones, each test clock's) are 1..N without a gap."""
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT subscription_id, period_start, period_end FROM invoices ORDER BY subscription_id, period_start"
        )
        numbers = await conn.fetch(
            "SELECT tenant_id, array_agg(number ORDER BY number) AS n FROM invoices GROUP BY tenant_id, test_clock_id"
        )
        lines_match = await conn.fetchval(
            "SELECT bool_and(i.total = (SELECT sum(amount) FROM invoice_lines l WHERE l.tenant_id = i.tenant_id AND l.invoice_id = i.id)) FROM invoices i"
        )
        subs = await conn.fetch("SELECT id, current_period_start FROM subscriptions")
    finally:
        await conn.close()
    per_sub: dict[str, list] = {}
    for row in rows:
        per_sub.setdefault(row["subscription_id"], []).append((row["period_start"], row["period_end"]))
    for sub in subs:
        periods = per_sub.get(sub["id"], [])
        assert len(periods) == expected_per_subscription, (sub["id"], periods)
        assert all(a[1] == b[0] for a, b in zip(periods, periods[1:])), periods
        assert periods[-1][0] == sub["current_period_start"]
    for row in numbers:
        assert row["n"] == list(range(1, len(row["n"]) + 1))
    assert lines_match is True
    return {"invoices": len(rows), "subscriptions": len(subs)}


async def test_fifty_concurrent_renewals_invoice_each_period_once(database_url: str) -> None:
    await seed_due_subscriptions(database_url, 400, NOW, months_due=3)
    await seed_due_subscriptions(database_url, 100, NOW, months_due=1)  # a second tenant
    engine = create_async_engine(async_url(database_url), pool_size=50, max_overflow=0, pool_timeout=120)
    try:
        # Fifty independent runs, one connection each (PostgreSQL allows 100 in all).
        reports = await asyncio.gather(*(renew(engine, Scope(), NOW, batch_size=25, workers=1) for _ in range(50)))
    finally:
        await engine.dispose()
    assert sum(r.invoices_created for r in reports) == 400 * 3 + 100
    assert sum(1 for r in reports if r.invoices_created) > 1  # the work really was shared
    conn = await asyncpg.connect(database_url)
    try:
        by_tenant = await conn.fetch("SELECT count(*) AS n FROM invoices GROUP BY tenant_id ORDER BY n")
    finally:
        await conn.close()
    assert [r["n"] for r in by_tenant] == [100, 1200]
    # 400 subscriptions x 3 periods in one tenant, 100 x 1 in the other, all contiguous:
    conn = await asyncpg.connect(database_url)
    try:
        dupes = await conn.fetchval(
            "SELECT count(*) FROM (SELECT 1 FROM invoices GROUP BY tenant_id, subscription_id, period_start HAVING count(*) > 1) d"
        )
    finally:
        await conn.close()
    assert dupes == 0


async def test_a_renewal_killed_mid_run_and_rerun_leaves_no_duplicate_and_no_gap(database_url: str) -> None:
    total = 6000
    await seed_due_subscriptions(database_url, total, NOW, months_due=2)
    env = {**os.environ, "DATABASE_URL": database_url}
    command = [sys.executable, "-m", "shared.runtime.cli", "renew", "--at", NOW.isoformat(), "--batch-size", "50"]
    victim = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    conn = await asyncpg.connect(database_url)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # kill as soon as some, but not all, work is committed
            done = await conn.fetchval("SELECT count(*) FROM invoices")
            if done >= 200:
                break
            await asyncio.sleep(0.005)
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        partial = await conn.fetchval("SELECT count(*) FROM invoices")
        # What is committed is whole batches: two invoices per subscription, never one.
        half_done = await conn.fetchval(
            "SELECT count(*) FROM (SELECT subscription_id FROM invoices GROUP BY subscription_id HAVING count(*) <> 2) x"
        )
    finally:
        await conn.close()
    assert victim.returncode == -signal.SIGKILL
    assert 0 < partial < total * 2, partial
    assert half_done == 0

    rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    audit = await _audit(database_url, expected_per_subscription=2)
    assert audit == {"invoices": total * 2, "subscriptions": total}
