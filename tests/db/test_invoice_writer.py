"""The one invoice writer: in one call, every numbering sequence (a tenant's legal one, each
test clock's own) gets its own gap-free block, in the order the drafts came; lines are
stored in order; a test clock deleted meanwhile is a NotFound and nothing stays."""

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from shared.db.invoice_writer import write_invoices
from shared.domain.errors import NotFound
from shared.domain.invoices import BillingReason, InvoiceDraft, LineDraft, issued_now
from shared.domain.periods import Period

NOW = datetime(2026, 5, 1, tzinfo=UTC)
PERIOD = Period(NOW, NOW + timedelta(days=31))


async def _seed(conn: asyncpg.Connection) -> None:
    for tenant in ("ten_a", "ten_b"):
        await conn.execute("INSERT INTO tenants (id, name, created_at) VALUES ($1::text, $1::text, $2)", tenant, NOW)
        await conn.execute(
            "INSERT INTO customers (tenant_id, id, email, name, created_at, updated_at) "
            "VALUES ($1, 'cus_real', 'r@example.com', 'R', $2, $2)",
            tenant,
            NOW,
        )
    for clock in ("clock_1", "clock_2"):
        await conn.execute(
            "INSERT INTO test_clocks (tenant_id, id, frozen_time, created_at) VALUES ('ten_a', $1, $2, $2)", clock, NOW
        )
        await conn.execute(
            "INSERT INTO customers (tenant_id, id, email, name, test_clock_id, created_at, updated_at) "
            "VALUES ('ten_a', $1, $2, 'S', $3, $4, $4)",
            f"cus_{clock}",
            f"{clock}@example.com",
            clock,
            NOW,
        )
    await conn.execute("UPDATE tenants SET next_invoice_number = 41 WHERE id = 'ten_b'")


def draft(clock: str | None, *amounts: int) -> InvoiceDraft:
    lines = [LineDraft(f"line {n}", amount, PERIOD.start, PERIOD.end) for n, amount in enumerate(amounts)]
    return issued_now(
        BillingReason.SUBSCRIPTION_UPDATE,
        currency="USD",
        customer_id=f"cus_{clock}" if clock else "cus_real",
        subscription_id=None,
        period=PERIOD,
        lines=lines,
        now=NOW,
        days_until_due=30,
        test_clock_id=clock,
    )


async def test_one_call_numbers_every_sequence_gap_free_in_draft_order(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await _seed(conn)
        drafts = [
            ("ten_b", draft(None, 100)),
            ("ten_a", draft("clock_2", 5, -5)),
            ("ten_a", draft(None, 7)),
            ("ten_b", draft(None, 0)),
            ("ten_a", draft("clock_1", 1)),
            ("ten_a", draft("clock_2", 2, 3, 4)),
        ]
        async with conn.transaction():
            written = await write_invoices(conn, drafts)
        assert [(w.tenant_id, w.draft.test_clock_id, w.number) for w in written] == [
            ("ten_b", None, 41),
            ("ten_a", "clock_2", 1),
            ("ten_a", None, 1),
            ("ten_b", None, 42),
            ("ten_a", "clock_1", 1),
            ("ten_a", "clock_2", 2),
        ]
        assert await conn.fetchval("SELECT next_invoice_number FROM tenants WHERE id = 'ten_b'") == 43
        assert await conn.fetchval("SELECT next_invoice_number FROM test_clocks WHERE id = 'clock_2'") == 3
        stored = await conn.fetch(
            "SELECT id, status, total, amount_due, paid_at FROM invoices ORDER BY tenant_id, number"
        )
        assert len(stored) == 6
        by_id = {row["id"]: row for row in stored}
        for w in written:
            row = by_id[w.id]
            assert (row["status"], row["total"], row["amount_due"], row["paid_at"]) == (
                w.draft.status.value,
                w.draft.total,
                w.draft.amount_due,
                w.draft.paid_at,
            )
        last = written[-1]
        lines = await conn.fetch(
            "SELECT position, amount FROM invoice_lines WHERE invoice_id = $1 ORDER BY position", last.id
        )
        assert [(r["position"], r["amount"]) for r in lines] == [(0, 2), (1, 3), (2, 4)]
    finally:
        await conn.close()


async def test_a_deleted_test_clock_is_not_found_and_nothing_stays(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await _seed(conn)
        await conn.execute("DELETE FROM customers WHERE test_clock_id = 'clock_1'")
        await conn.execute("DELETE FROM test_clocks WHERE id = 'clock_1'")
        with pytest.raises(NotFound):
            async with conn.transaction():
                await write_invoices(conn, [("ten_a", draft(None, 100)), ("ten_a", draft("clock_1", 1))])
        assert await conn.fetchval("SELECT count(*) FROM invoices") == 0
        assert await conn.fetchval("SELECT next_invoice_number FROM tenants WHERE id = 'ten_a'") == 1
    finally:
        await conn.close()
