"""Do balances, discounts and taxes slow renewal down? Plain vs money, same run.

    python -m bench.money [--subscriptions 100000] [--batch-size 1000]

Seeds two tenants with N due monthly subscriptions each; in the second, every invoice is
taxed (a 19% exclusive rate in the tenant's default_tax_rates), half the subscriptions carry
a 20% coupon (forever) and half the customers a credit balance (some larger than the
invoice, some smaller), so every batch loads rates and discounts, runs the whole totals
pipeline, locks and applies balances and appends ledger entries. Per round, renews both
tenants one after the other, the order alternating between rounds (so warm-up and the
machine's load fall on both alike), and reports each round's ratio of the rates and their
median; also the same ratio in CPU seconds (client and database processes, bench.cpu), which
a machine shared with other work disturbs far less.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
from datetime import UTC, datetime
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import create_async_engine

from bench.common import scratch_database
from bench.cpu import ServerCpu
from bench.seed import seed_due_subscriptions
from shared.db import balances
from shared.db.engine import async_url
from shared.domain.ids import new_id
from shared.domain.invoice_totals import BalanceTransactionType
from shared.renewal import Scope, renew
from shared.renewal.engine import DEFAULT_WORKERS

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
AMOUNT = 1999


async def _credit_half(url: str, tenant_id: str) -> int:
    """A credit balance for every other customer of the tenant (one ledger statement)."""
    conn = await asyncpg.connect(url)
    try:
        customers = await conn.fetch("SELECT id FROM customers WHERE tenant_id = $1 ORDER BY id", tenant_id)
        entries = [
            balances.Entry(
                tenant_id,
                new_id("cbtxn"),
                row["id"],
                -(500 if n % 4 == 0 else 5000),  # less than one invoice, or more
                "USD",
                BalanceTransactionType.ADJUSTMENT,
                None,
                "bench",
                NOW,
            )
            for n, row in enumerate(customers)
            if n % 2 == 0
        ]
        async with conn.transaction():
            await balances.append(conn, entries)
        return len(entries)
    finally:
        await conn.close()


async def _tax_and_discount(url: str, tenant_id: str) -> int:
    """A 19% exclusive tax rate for the whole tenant, and a 20% coupon on every other
    subscription (set-based inserts)."""
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            rate_id, coupon_id = new_id("txr"), new_id("co")
            await conn.execute(
                "INSERT INTO tax_rates (tenant_id, id, display_name, percentage, inclusive, created_at)"
                " VALUES ($1, $2, 'VAT', 19, false, $3)",
                tenant_id,
                rate_id,
                NOW,
            )
            await conn.execute(
                "UPDATE tenants SET default_tax_rates = ARRAY[$2::varchar] WHERE id = $1", tenant_id, rate_id
            )
            await conn.execute(
                "INSERT INTO coupons (tenant_id, id, percent_off, duration, created_at)"
                " VALUES ($1, $2, 20, 'forever', $3)",
                tenant_id,
                coupon_id,
                NOW,
            )
            return int(
                (
                    await conn.execute(
                        """INSERT INTO discounts (tenant_id, id, subscription_id, customer_id, coupon_id, created_at)
                           SELECT tenant_id, 'di_' || id, id, customer_id, $2, $3 FROM (
                             SELECT s.*, row_number() OVER (ORDER BY s.id) AS n FROM subscriptions s
                             WHERE s.tenant_id = $1) numbered
                           WHERE n % 2 = 0""",
                        tenant_id,
                        coupon_id,
                        NOW,
                    )
                ).split()[-1]
            )
    finally:
        await conn.close()


async def _renew(
    url: str, tenant_id: str, count: int, batch_size: int, workers: int, meter: ServerCpu
) -> tuple[float, float]:
    """Wall and CPU seconds of renewing the tenant."""
    engine = create_async_engine(async_url(url), pool_size=workers + 1)
    before = meter.seconds()
    try:
        report = await renew(engine, Scope(tenant_id=tenant_id), NOW, batch_size=batch_size, workers=workers)
    finally:
        await engine.dispose()
    assert report.invoices_created == count, report
    return report.duration_seconds, meter.seconds() - before


async def run(
    url: str, count: int, batch_size: int = 1000, workers: int = DEFAULT_WORKERS, rounds: int = 3
) -> dict[str, Any]:
    plain_seconds: list[float] = []
    money_seconds: list[float] = []
    ratios: list[float] = []
    plain_cpu: list[float] = []
    money_cpu: list[float] = []
    cpu_ratios: list[float] = []
    conn = await asyncpg.connect(url)
    try:
        meter = await ServerCpu.of(conn)
    finally:
        await conn.close()
    credited = discounted = applied = taxed = with_discount = 0
    # Warm-up, not measured: a fresh database's first renewal pays for cold caches and plans.
    warm = await seed_due_subscriptions(url, min(count, 2000), NOW, amount=AMOUNT)
    await _credit_half(url, warm)
    await _tax_and_discount(url, warm)
    for tenant in (await seed_due_subscriptions(url, min(count, 2000), NOW, amount=AMOUNT), warm):
        engine = create_async_engine(async_url(url), pool_size=workers + 1)
        try:
            await renew(engine, Scope(tenant_id=tenant), NOW, batch_size=batch_size, workers=workers)
        finally:
            await engine.dispose()
    for n in range(rounds):
        plain = await seed_due_subscriptions(url, count, NOW, amount=AMOUNT)
        money = await seed_due_subscriptions(url, count, NOW, amount=AMOUNT)
        credited += await _credit_half(url, money)
        discounted += await _tax_and_discount(url, money)
        seconds, cpu = {}, {}
        for tenant in (money, plain) if n % 2 else (plain, money):
            seconds[tenant], cpu[tenant] = await _renew(url, tenant, count, batch_size, workers, meter)
        plain_cpu.append(cpu[plain])
        money_cpu.append(cpu[money])
        cpu_ratios.append(cpu[plain] / cpu[money])
        plain_seconds.append(seconds[plain])
        money_seconds.append(seconds[money])
        ratios.append(seconds[plain] / seconds[money])  # money rate / plain rate
        conn = await asyncpg.connect(url)
        try:
            applied += await conn.fetchval(
                "SELECT count(*) FROM balance_transactions WHERE tenant_id = $1 AND type = 'invoice_applied'", money
            )
            found = await conn.fetchrow(
                "SELECT count(*) FILTER (WHERE tax > 0), count(*) FILTER (WHERE total_discount > 0) FROM invoices"
                " WHERE tenant_id = $1",
                money,
            )
            taxed += found[0]
            with_discount += found[1]
        finally:
            await conn.close()
    return {
        "benchmark": "money",
        "subscriptions": count,
        "rounds": rounds,
        "credited_customers": credited,
        "balances_applied": applied,
        "discounted_subscriptions": discounted,
        "invoices_taxed": taxed,
        "invoices_discounted": with_discount,
        "batch_size": batch_size,
        "workers": workers,
        "plain_seconds": [round(s, 2) for s in plain_seconds],
        "money_seconds": [round(s, 2) for s in money_seconds],
        "plain_per_second": round(count * rounds / sum(plain_seconds)),
        "money_per_second": round(count * rounds / sum(money_seconds)),
        "money_over_plain_rounds": [round(r, 3) for r in ratios],
        "money_over_plain": round(statistics.median(ratios), 3),
        "plain_cpu_seconds": [round(s, 2) for s in plain_cpu],
        "money_cpu_seconds": [round(s, 2) for s in money_cpu],
        "money_over_plain_cpu_rounds": [round(r, 3) for r in cpu_ratios],
        "money_over_plain_cpu": round(statistics.median(cpu_ratios), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subscriptions", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of plain and money renewals (order alternating)")
    args = parser.parse_args()
    with scratch_database() as url:
        print(json.dumps(asyncio.run(run(url, args.subscriptions, args.batch_size, args.workers, args.rounds))))


if __name__ == "__main__":
    main()
