"""Bulk-load a tenant with N due subscriptions, set-based (one statement per table).

The subscriptions are monthly, anchored `months_due` months before `now`, so each one
is exactly `months_due` periods behind when renewal runs. No first invoices are made
(nothing is owed), so renewal does renewal work only: no dunning.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg

from shared.domain.ids import new_id
from shared.domain.periods import add_months


async def seed_due_subscriptions(
    url: str, count: int, now: datetime, *, months_due: int = 1, amount: int = 1999, currency: str = "USD"
) -> str:
    """Create a tenant, a plan, `count` customers and subscriptions; return the tenant id."""
    anchor = add_months(now, -months_due)
    tenant_id, plan_id = new_id("ten"), new_id("plan")
    customers = [new_id("cus") for _ in range(count)]
    subscriptions = [new_id("sub") for _ in range(count)]
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            await conn.execute(
                "INSERT INTO tenants (id, name, grace_period_days, created_at) VALUES ($1::text, 'bench ' || $1::text, 365, $2)",
                tenant_id,
                anchor,
            )
            await conn.execute(
                "INSERT INTO plans (tenant_id, id, code, name, amount, currency, interval, interval_count, "
                "trial_period_days, created_at) VALUES ($1, $2, 'bench', 'Bench', $3, $4, 'month', 1, 0, $5)",
                tenant_id,
                plan_id,
                amount,
                currency,
                anchor,
            )
            await conn.execute(
                "INSERT INTO customers (tenant_id, id, email, name, created_at, updated_at) "
                "SELECT $1, c.id, c.id || '@bench.example', 'Bench', $3, $3 FROM unnest($2::text[]) AS c(id)",
                tenant_id,
                customers,
                anchor,
            )
            await conn.execute(
                "INSERT INTO subscriptions (tenant_id, id, customer_id, plan_id, status, billing_cycle_anchor, cycle, "
                "current_period_start, current_period_end, created_at) "
                "SELECT $1, v.sub, v.cus, $4, 'active', $5, 1, $5, $6, $5 FROM unnest($2::text[], $3::text[]) AS v(sub, cus)",
                tenant_id,
                subscriptions,
                customers,
                plan_id,
                anchor,
                add_months(anchor, 1),
            )
    finally:
        await conn.close()
    return tenant_id
