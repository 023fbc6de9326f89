"""How fast does a renewal run bill due subscriptions?

    python -m bench.renewal [--subscriptions 100000] [--batch-size 1000] [--months-due 1]

Seeds one tenant with N monthly subscriptions that are `months-due` periods behind, then
times one full run of the batch engine (claim, invoice, lines, advance, commit per batch).
Next to it, on a second seeded tenant of the same size, the raw ceiling: plain asyncpg
writing the same invoice and line rows and advancing the same periods (one statement per
step per batch, same batch size and workers, no rules, no engine). `run()` reports both and
their ratio; `--sizes` runs several sizes (10^4..10^6) for the scaling curve.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from datetime import UTC, datetime, timedelta

import asyncpg
from sqlalchemy.ext.asyncio import create_async_engine

from bench.common import scratch_database
from bench.seed import seed_due_subscriptions
from shared.db.engine import async_url
from shared.domain.ids import new_id
from shared.domain.periods import add_months
from shared.renewal import Scope, renew
from shared.renewal.engine import DEFAULT_WORKERS

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


RAW_CLAIM = """
SELECT s.id, s.customer_id, s.plan_id, s.current_period_end, p.amount, p.currency
FROM subscriptions s JOIN plans p ON p.tenant_id = s.tenant_id AND p.id = s.plan_id
WHERE s.tenant_id = $1 AND s.status = 'active' AND s.current_period_end <= $2
ORDER BY s.current_period_end LIMIT $3 FOR UPDATE OF s SKIP LOCKED
"""
RAW_NUMBERS = (
    "UPDATE tenants SET next_invoice_number = next_invoice_number + $2 WHERE id = $1 RETURNING next_invoice_number - $2"
)
RAW_INVOICES = """
INSERT INTO invoices (tenant_id, id, number, customer_id, subscription_id, status, billing_reason, currency,
                      period_start, period_end, subtotal, total, amount_due, amount_paid, created_at, due_at,
                      finalized_at)
SELECT $1, v.id, v.number, v.customer_id, v.subscription_id, 'open', 'subscription_cycle', v.currency,
       v.period_start, v.period_end, v.total, v.total, v.total, 0, $2, $3, $2
FROM unnest($4::text[], $5::bigint[], $6::text[], $7::text[], $8::text[], $9::timestamptz[], $10::timestamptz[],
            $11::bigint[]) AS v(id, number, customer_id, subscription_id, currency, period_start, period_end, total)
"""
RAW_LINES = """
INSERT INTO invoice_lines (tenant_id, id, invoice_id, position, description, amount, currency, period_start,
                           period_end, plan_id, proration)
SELECT $1, v.id, v.invoice_id, 0, 'Bench (bench)', v.amount, v.currency, v.period_start, v.period_end, v.plan_id, false
FROM unnest($2::text[], $3::text[], $4::bigint[], $5::text[], $6::timestamptz[], $7::timestamptz[], $8::text[])
  AS v(id, invoice_id, amount, currency, period_start, period_end, plan_id)
"""
RAW_ADVANCE = """
UPDATE subscriptions s SET current_period_start = v.period_start, current_period_end = v.period_end, cycle = s.cycle + 1
FROM unnest($2::text[], $3::timestamptz[], $4::timestamptz[]) AS v(id, period_start, period_end)
WHERE s.tenant_id = $1 AND s.id = v.id
"""


async def raw_ceiling(url: str, tenant_id: str, now: datetime, batch_size: int, workers: int) -> tuple[int, float]:
    """Renew the tenant's due subscriptions with plain asyncpg; (invoices written, seconds)."""
    pool = await asyncpg.create_pool(url, min_size=workers, max_size=workers)
    written = 0

    async def worker() -> None:
        nonlocal written
        async with pool.acquire() as conn:
            while True:
                async with conn.transaction():
                    rows = await conn.fetch(RAW_CLAIM, tenant_id, now, batch_size)
                    if not rows:
                        return
                    first = await conn.fetchval(RAW_NUMBERS, tenant_id, len(rows))
                    starts = [r["current_period_end"] for r in rows]
                    ends = [add_months(start, 1) for start in starts]
                    invoices = [new_id("in") for _ in rows]
                    await conn.execute(
                        RAW_INVOICES,
                        tenant_id,
                        now,
                        now + timedelta(days=30),
                        invoices,
                        list(range(first, first + len(rows))),
                        [r["customer_id"] for r in rows],
                        [r["id"] for r in rows],
                        [r["currency"] for r in rows],
                        starts,
                        ends,
                        [r["amount"] for r in rows],
                    )
                    await conn.execute(
                        RAW_LINES,
                        tenant_id,
                        [new_id("il") for _ in rows],
                        invoices,
                        [r["amount"] for r in rows],
                        [r["currency"] for r in rows],
                        starts,
                        ends,
                        [r["plan_id"] for r in rows],
                    )
                    await conn.execute(RAW_ADVANCE, tenant_id, [r["id"] for r in rows], starts, ends)
                written += len(rows)

    started = time.perf_counter()
    try:
        await asyncio.gather(*(worker() for _ in range(workers)))
    finally:
        await pool.close()
    return written, time.perf_counter() - started


async def analyze(url: str) -> None:
    """Fresh planner statistics after a bulk seed (autovacuum may not have run yet), so
    neither side runs on a plan made for an empty table."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


async def measure(url: str, count: int, batch_size: int, months_due: int, workers: int) -> dict:
    started = time.perf_counter()
    tenant = await seed_due_subscriptions(url, count, NOW, months_due=months_due)
    ceiling_tenant = await seed_due_subscriptions(url, count, NOW, months_due=1)
    await analyze(url)
    seeded = time.perf_counter() - started
    engine = create_async_engine(async_url(url), pool_size=workers + 1)
    try:
        report = await renew(engine, Scope(tenant_id=tenant), NOW, batch_size=batch_size, workers=workers)
    finally:
        await engine.dispose()
    assert report.invoices_created == count * months_due, report
    raw, raw_seconds = await raw_ceiling(url, ceiling_tenant, NOW, batch_size, workers)
    assert raw == count, raw
    engine_per_s = count / report.duration_seconds
    raw_per_s = count / raw_seconds
    return {
        "subscriptions": count,
        "invoices_created": report.invoices_created,
        "seed_seconds": round(seeded, 2),
        "renewal_seconds": round(report.duration_seconds, 3),
        "ceiling_seconds": round(raw_seconds, 3),
        "subscriptions_per_second": round(engine_per_s),
        "ceiling_subscriptions_per_second": round(raw_per_s),
        "ratio_to_ceiling": round(engine_per_s / raw_per_s, 3),
    }


def run(
    sizes: tuple[int, ...] = (10_000,),
    batch_size: int = 1000,
    months_due: int = 1,
    workers: int = DEFAULT_WORKERS,
    rounds: int = 1,
) -> dict:
    """Renewal vs its raw ceiling per size (medians of `rounds`), each on fresh tenants."""
    rows = []
    with scratch_database() as url:
        for size in sizes:
            samples = [asyncio.run(measure(url, size, batch_size, months_due, workers)) for _ in range(rounds)]
            rows.append({key: statistics.median(s[key] for s in samples) for key in samples[0]})
    return {
        "benchmark": "renewal",
        "batch_size": batch_size,
        "workers": workers,
        "months_due": months_due,
        "sizes": rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subscriptions", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--months-due", type=int, default=1)
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS)
    parser.add_argument("--sizes", type=int, nargs="*", help="several sizes (overrides --subscriptions)")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    sizes = tuple(args.sizes or (args.subscriptions,))
    print(json.dumps(run(sizes, args.batch_size, args.months_due, args.workers, args.rounds)))


if __name__ == "__main__":
    main()
