"""What starting a subscription reads and writes, as fixed SQL on the driver connection.

`context` is ONE statement: the customer, the plan, the tenant's payment terms and default
tax rates, the customer's test clock (key-share locked until commit, as
Repository.test_clock_for_write locks it) and every tax rate a new subscription may need
(the requested ones, the plan's, the customer's and the tenant's); `insert` writes the
subscription row and, in the same statement, locks the customer's balance in the first
invoice's currency (to the commit; lock order: the subscription, then the balance rows)
and reads it. Both filter on the tenant ($1). Deciding stays with the caller (the
domain); the invoice goes through shared.db.invoice_writer.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import asyncpg

from shared.db import hot_reads

if TYPE_CHECKING:
    from shared.db.tables import Subscription

CONTEXT = """
WITH c AS (
    SELECT id, test_clock_id, tax_exempt, default_tax_rates FROM customers WHERE tenant_id = $1 AND id = $2
), p AS (
    SELECT id, code, name, amount, currency, interval, interval_count, trial_period_days, active, default_tax_rates
    FROM plans WHERE tenant_id = $1 AND id = $3
), t AS (
    SELECT days_until_due, default_tax_rates FROM tenants WHERE id = $1
), clock AS (
    SELECT status, frozen_time FROM test_clocks
    WHERE tenant_id = $1 AND id = (SELECT test_clock_id FROM c) FOR KEY SHARE
), rates AS (
    SELECT id, percentage, inclusive, active FROM tax_rates
    WHERE tenant_id = $1 AND id = ANY(
        $4::varchar[] || (SELECT default_tax_rates FROM c) || (SELECT default_tax_rates FROM p)
        || (SELECT default_tax_rates FROM t)
    )
)
SELECT c.id AS customer_id, c.test_clock_id, c.tax_exempt, c.default_tax_rates AS customer_rates,
    p.id AS plan_id, p.code, p.name, p.amount, p.currency, p.interval, p.interval_count, p.trial_period_days,
    p.active, p.default_tax_rates AS plan_rates, t.days_until_due, t.default_tax_rates AS tenant_rates,
    clock.status AS clock_status, clock.frozen_time,
    ARRAY(SELECT id FROM rates) AS rate_ids, ARRAY(SELECT percentage FROM rates) AS rate_percentages,
    ARRAY(SELECT inclusive FROM rates) AS rate_inclusive, ARRAY(SELECT active FROM rates) AS rate_active
FROM t LEFT JOIN c ON true LEFT JOIN p ON true LEFT JOIN clock ON true
"""

# $14: the currency of the balance to lock (NULL: no invoice now, nothing locked).
INSERT = """
WITH subscription AS (
  INSERT INTO subscriptions (tenant_id, id, customer_id, plan_id, status, billing_cycle_anchor, cycle,
      current_period_start, current_period_end, trial_end, test_clock_id, cancel_at_period_end,
      default_tax_rates, created_at)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, false, $12::varchar[], $13)
)
SELECT balance FROM customer_balances WHERE tenant_id = $1 AND customer_id = $3 AND currency = $14::text
FOR UPDATE
"""


@dataclass(frozen=True)
class PlanTerms:
    """The plan's columns a subscription start uses (the names of shared.db.tables.Plan)."""

    id: str
    code: str
    name: str
    amount: int
    currency: str
    interval: str
    interval_count: int
    trial_period_days: int
    active: bool
    default_tax_rates: list[str]


@dataclass(frozen=True)
class RateRow:
    id: str
    percentage: Decimal
    inclusive: bool
    active: bool


@dataclass(frozen=True)
class StartContext:
    customer_id: str | None  # None: no such customer of the tenant
    test_clock_id: str | None
    tax_exempt: str
    customer_rates: list[str]
    plan: PlanTerms | None  # None: no such plan of the tenant
    days_until_due: int
    tenant_rates: list[str]
    clock_status: str | None
    frozen_time: datetime | None
    rates: dict[str, RateRow]


def _observe(operation: str, started: float) -> None:
    if hot_reads.observe is not None:
        hot_reads.observe(operation, time.perf_counter() - started)


async def context(
    conn: asyncpg.Connection, tenant_id: str, customer_id: str, plan_id: str, tax_rates: Sequence[str]
) -> StartContext:
    started = time.perf_counter()
    row = await conn.fetchrow(CONTEXT, tenant_id, customer_id, plan_id, list(tax_rates))
    _observe("SELECT", started)
    if row is None:
        raise LookupError(f"no such tenant: '{tenant_id}'")
    plan = None
    if row["plan_id"] is not None:
        plan = PlanTerms(
            row["plan_id"],
            row["code"],
            row["name"],
            row["amount"],
            row["currency"],
            row["interval"],
            row["interval_count"],
            row["trial_period_days"],
            row["active"],
            list(row["plan_rates"]),
        )
    rates = {
        i: RateRow(i, p, inclusive, active)
        for i, p, inclusive, active in zip(
            row["rate_ids"], row["rate_percentages"], row["rate_inclusive"], row["rate_active"], strict=True
        )
    }
    return StartContext(
        customer_id=row["customer_id"],
        test_clock_id=row["test_clock_id"],
        tax_exempt=row["tax_exempt"] or "none",
        customer_rates=list(row["customer_rates"] or ()),
        plan=plan,
        days_until_due=row["days_until_due"],
        tenant_rates=list(row["tenant_rates"] or ()),
        clock_status=row["clock_status"],
        frozen_time=row["frozen_time"],
        rates=rates,
    )


async def insert(conn: asyncpg.Connection, subscription: Subscription, balance_currency: str | None) -> int:
    """Write the new `subscription` row (built, not added to any session); with a
    `balance_currency`, lock the customer's balance in it to the commit and return it (0:
    none yet)."""
    s = subscription
    started = time.perf_counter()
    balance = await conn.fetchval(
        INSERT,
        s.tenant_id,
        s.id,
        s.customer_id,
        s.plan_id,
        s.status,
        s.billing_cycle_anchor,
        s.cycle,
        s.current_period_start,
        s.current_period_end,
        s.trial_end,
        s.test_clock_id,
        list(s.default_tax_rates),
        s.created_at,
        balance_currency,
    )
    _observe("INSERT", started)
    return balance or 0
