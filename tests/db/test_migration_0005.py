"""Revision 0005 on a database that already holds data made under 0004: duplicate or empty
tenant names, and invoices of test-clock customers numbered in the tenant's sequence."""

from __future__ import annotations

import asyncio

import asyncpg

from shared.db.migrate import downgrade, upgrade

_SEED = """
INSERT INTO tenants (id, name, created_at) VALUES
  ('ten_a', 'Acme', '2026-01-01Z'), ('ten_b', '  acme ', '2026-01-02Z'), ('ten_c', '   ', '2026-01-03Z'),
  ('ten_d', 'Other', '2026-01-04Z');
UPDATE tenants SET next_invoice_number = 4 WHERE id = 'ten_a';
INSERT INTO test_clocks (tenant_id, id, name, frozen_time, created_at) VALUES
  ('ten_a', 'clock_1', 'c', '2028-01-01Z', '2026-01-01Z');
INSERT INTO customers (tenant_id, id, email, name, test_clock_id, created_at, updated_at) VALUES
  ('ten_a', 'cus_real', 'r@example.com', 'R', NULL, now(), now()),
  ('ten_a', 'cus_sim', 's@example.com', 'S', 'clock_1', now(), now());
INSERT INTO invoices (tenant_id, id, number, customer_id, status, billing_reason, currency, period_start,
                      period_end, subtotal, total, amount_due, created_at)
SELECT 'ten_a', v.id, v.number, v.customer, 'open', 'subscription_update', 'USD', '2026-01-01Z', '2026-02-01Z',
       5, 5, 5, now()
FROM (VALUES ('in_1', 1, 'cus_real'), ('in_2', 2, 'cus_sim'), ('in_3', 3, 'cus_sim')) AS v(id, number, customer);
"""


async def test_0005_makes_existing_data_fit_and_its_downgrade_restores_one_sequence(empty_database_url: str) -> None:
    await asyncio.to_thread(upgrade, empty_database_url, "0004")
    conn = await asyncpg.connect(empty_database_url)
    try:
        await conn.execute(_SEED)
        await asyncio.to_thread(upgrade, empty_database_url, "0005")
        names = {r["id"]: r["name"] for r in await conn.fetch("SELECT id, name FROM tenants")}
        # The oldest keeps its name, a case/space twin gets its id as a suffix, an empty one its id.
        assert names == {"ten_a": "Acme", "ten_b": "acme (ten_b)", "ten_c": "ten_c", "ten_d": "Other"}
        invoices = {r["id"]: (r["number"], r["test_clock_id"]) for r in await conn.fetch("SELECT * FROM invoices")}
        assert invoices == {"in_1": (1, None), "in_2": (2, "clock_1"), "in_3": (3, "clock_1")}
        # The clock's sequence continues after its invoices' numbers; the tenant's is unchanged.
        assert await conn.fetchval("SELECT next_invoice_number FROM test_clocks WHERE id = 'clock_1'") == 4
        assert await conn.fetchval("SELECT next_invoice_number FROM tenants WHERE id = 'ten_a'") == 4
        # A new simulated invoice numbered 1 in its clock no longer collides with real #1.
        await conn.execute(
            "INSERT INTO invoices (tenant_id, id, number, customer_id, status, billing_reason, currency, period_start,"
            " period_end, subtotal, total, amount_due, created_at, test_clock_id) VALUES ('ten_a', 'in_4', 1, 'cus_sim',"
            " 'open', 'subscription_update', 'USD', '2026-01-01Z', '2026-02-01Z', 5, 5, 5, now(), 'clock_1')"
        )

        await asyncio.to_thread(downgrade, empty_database_url, "0004")
        numbers = sorted(r["number"] for r in await conn.fetch("SELECT number FROM invoices WHERE tenant_id = 'ten_a'"))
        assert numbers == [1, 4, 5, 6]  # simulated ones renumbered after the real sequence
        assert await conn.fetchval("SELECT next_invoice_number FROM tenants WHERE id = 'ten_a'") == 7
    finally:
        await conn.close()
