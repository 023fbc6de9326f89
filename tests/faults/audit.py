"""What must hold after any crash: read straight from the database, not through the API."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg


@dataclass(frozen=True)
class Audit:
    subscriptions: int
    invoices: int
    keys_in_progress: int


async def audit(url: str) -> Audit:
    """Assert one cycle invoice per (subscription, period), contiguous periods, gap-free
    numbers 1..N per tenant and lines that sum to totals; count what is there."""
    conn = await asyncpg.connect(url)
    try:
        duplicates = await conn.fetchval(
            "SELECT count(*) FROM (SELECT 1 FROM invoices GROUP BY tenant_id, subscription_id, period_start "
            "HAVING count(*) > 1) d"
        )
        numbers = await conn.fetch("SELECT array_agg(number ORDER BY number) AS n FROM invoices GROUP BY tenant_id")
        periods = await conn.fetch(
            "SELECT subscription_id, array_agg(period_start ORDER BY period_start) AS starts, "
            "array_agg(period_end ORDER BY period_start) AS ends FROM invoices GROUP BY subscription_id"
        )
        lines_match = await conn.fetchval(
            "SELECT coalesce(bool_and(i.total = (SELECT sum(amount) FROM invoice_lines l "
            "WHERE l.tenant_id = i.tenant_id AND l.invoice_id = i.id)), true) FROM invoices i"
        )
        subscriptions = await conn.fetchval("SELECT count(*) FROM subscriptions")
        invoices = await conn.fetchval("SELECT count(*) FROM invoices")
        in_progress = await conn.fetchval("SELECT count(*) FROM idempotency_keys WHERE state = 'in_progress'")
    finally:
        await conn.close()
    assert duplicates == 0
    for row in numbers:
        assert row["n"] == list(range(1, len(row["n"]) + 1)), row["n"]
    for row in periods:
        assert list(row["ends"][:-1]) == list(row["starts"][1:]), row
    assert lines_match is True
    return Audit(subscriptions, invoices, in_progress)
