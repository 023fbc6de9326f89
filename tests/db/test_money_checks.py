"""The totals invariants live in the schema too (shared.domain.invoice_totals keeps them):
total = subtotal - discounts + exclusive tax; an exempt customer's invoice has no tax; a
coupon's redemptions never pass its limit."""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import create_async_engine

from shared.db.engine import async_url

SETUP = [
    "INSERT INTO tenants (id, name, created_at) VALUES ('t', 't', now())",
    "INSERT INTO customers (tenant_id, id, email, name, created_at, updated_at) "
    "VALUES ('t', 'c', 'c@example.com', 'c', now(), now())",
    "INSERT INTO coupons (tenant_id, id, percent_off, duration, max_redemptions, times_redeemed, created_at) "
    "VALUES ('t', 'co', 20, 'once', 1, 1, now())",
]
INVOICE = (
    "INSERT INTO invoices (tenant_id, id, number, customer_id, status, billing_reason, currency, period_start, "
    "period_end, subtotal, total_discount, tax, inclusive_tax, total, amount_due, customer_tax_exempt, created_at) "
    "VALUES ('t', :id, :n, 'c', 'open', 'subscription_update', 'USD', '2026-01-01Z', '2026-02-01Z', "
    ":subtotal, :discount, :tax, :inclusive, CAST(:total AS bigint), GREATEST(CAST(:total AS bigint), 0), :exempt, now())"
)


CASES = [
    # 19.99 - 5.00 + 2.85 VAT = 17.84; and 19.99 with 1.43 included tax stays 19.99.
    ({"subtotal": 1999, "discount": 500, "tax": 285, "inclusive": 0, "total": 1784, "exempt": "none"}, None),
    ({"subtotal": 1999, "discount": 0, "tax": 143, "inclusive": 143, "total": 1999, "exempt": "none"}, None),
    ({"subtotal": 1999, "discount": 500, "tax": 285, "inclusive": 0, "total": 1785, "exempt": "none"}, "total_from"),
    ({"subtotal": 1999, "discount": 0, "tax": 143, "inclusive": 143, "total": 2142, "exempt": "none"}, "total_from"),
    ({"subtotal": 1999, "discount": 0, "tax": 380, "inclusive": 0, "total": 2379, "exempt": "exempt"}, "exempt_pays"),
]


async def test_invoice_totals_and_redemptions_are_checked(database_url: str) -> None:
    engine = create_async_engine(async_url(database_url))
    try:
        async with engine.begin() as conn:
            for statement in SETUP:
                await conn.execute(text(statement))
        for n, (values, refused_by) in enumerate(CASES, start=1):
            row = {"id": f"in_{n}", "n": n, **values}
            if refused_by is None:
                async with engine.begin() as conn:
                    await conn.execute(text(INVOICE), row)
            else:
                with pytest.raises(IntegrityError, match=refused_by):
                    async with engine.begin() as conn:
                        await conn.execute(text(INVOICE), row)
        with pytest.raises(IntegrityError, match="redemptions_within_max"):
            async with engine.begin() as conn:
                await conn.execute(text("UPDATE coupons SET times_redeemed = times_redeemed + 1"))
    finally:
        await engine.dispose()
