"""Revision 0007 on a database holding invoices made before the customer balance: a negative
total's credit was dropped then, so those invoices end at a 0 balance and keep amount_due 0."""

from __future__ import annotations

import asyncio

import asyncpg

from shared.db.migrate import downgrade, upgrade

_SEED = """
INSERT INTO tenants (id, name, created_at) VALUES ('ten_a', 'Acme', '2026-01-01Z');
INSERT INTO customers (tenant_id, id, email, name, created_at, updated_at) VALUES
  ('ten_a', 'cus_a', 'a@example.com', 'A', now(), now());
INSERT INTO invoices (tenant_id, id, number, customer_id, status, billing_reason, currency, period_start,
                      period_end, subtotal, total, amount_due, amount_paid, created_at)
SELECT 'ten_a', v.id, v.number, 'cus_a', v.status, 'subscription_update', 'USD', '2026-01-01Z', '2026-02-01Z',
       v.total, v.total, v.due, v.paid, now()
FROM (VALUES ('in_1', 1, -1333, 0, 0, 'paid'), ('in_2', 2, 1000, 1000, 0, 'open'))
  AS v(id, number, total, due, paid, status);
"""


async def test_0007_keeps_old_invoices_valid_and_downgrades(empty_database_url: str) -> None:
    await asyncio.to_thread(upgrade, empty_database_url, "0009")
    conn = await asyncpg.connect(empty_database_url)
    try:
        await conn.execute(_SEED)
        await asyncio.to_thread(upgrade, empty_database_url, "0007")
        rows = await conn.fetch(
            "SELECT id, total, starting_balance, ending_balance, amount_due FROM invoices ORDER BY id"
        )
        assert [tuple(r) for r in rows] == [("in_1", -1333, 1333, 0, 0), ("in_2", 1000, 0, 0, 1000)]
        # Credit applied under 0007: the invoice is paid by the balance.
        await conn.execute(
            "INSERT INTO invoices (tenant_id, id, number, customer_id, status, billing_reason, currency, period_start,"
            " period_end, subtotal, total, amount_due, amount_paid, starting_balance, ending_balance, created_at)"
            " VALUES ('ten_a', 'in_3', 3, 'cus_a', 'paid', 'subscription_update', 'USD', '2026-02-01Z',"
            " '2026-03-01Z', 1000, 1000, 0, 0, -1500, -500, now())"
        )
        refused = "INSERT INTO invoices (tenant_id, id, number, customer_id, status, billing_reason, currency,"
        refused += " period_start, period_end, subtotal, total, amount_due, starting_balance, ending_balance,"
        refused += " created_at) VALUES ('ten_a', 'in_4', 4, 'cus_a', 'open', 'subscription_update', 'USD',"
        refused += " '2026-02-01Z', '2026-03-01Z', 1000, 1000, 1000, -1500, -500, now())"
        try:
            await conn.execute(refused)
            raise AssertionError("an amount due ignoring the balance was accepted")
        except asyncpg.CheckViolationError as error:
            assert error.constraint_name == "ck_invoices_amount_due_from_balance"

        await asyncio.to_thread(downgrade, empty_database_url, "0009")
        rows = await conn.fetch("SELECT id, amount_due, amount_paid, status FROM invoices ORDER BY id")
        assert [tuple(r) for r in rows] == [
            ("in_1", 0, 0, "paid"),
            ("in_2", 1000, 0, "open"),
            ("in_3", 1000, 1000, "paid"),
        ]
    finally:
        await conn.close()
