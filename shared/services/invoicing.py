"""Issuing invoices: numbering, due dates, lines. Shared by every use case that bills."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import text

from shared import failpoints, metrics
from shared.db.tables import Invoice, InvoiceLine
from shared.db.uow import UnitOfWork
from shared.domain.errors import NotFound
from shared.domain.ids import new_id
from shared.domain.invoices import BillingReason, InvoiceStatus, LineDraft, amount_due, total_of
from shared.domain.periods import Period

_RESERVE_NUMBERS = text(
    "UPDATE tenants SET next_invoice_number = next_invoice_number + :n "
    "WHERE id = :tenant_id RETURNING next_invoice_number - :n AS first, days_until_due"
)
# A test clock's own sequence: only the clock row is locked (the tenant row is only read).
_RESERVE_CLOCK_NUMBERS = text(
    "UPDATE test_clocks c SET next_invoice_number = c.next_invoice_number + :n FROM tenants t "
    "WHERE c.tenant_id = :tenant_id AND c.id = :test_clock_id AND t.id = c.tenant_id "
    "RETURNING c.next_invoice_number - :n AS first, t.days_until_due"
)
_CUSTOMER_CLOCK = text("SELECT test_clock_id FROM customers WHERE tenant_id = :tenant_id AND id = :customer_id")


async def reserve_numbers(uow: UnitOfWork, tenant_id: str, count: int,
                          test_clock_id: str | None = None) -> tuple[int, int]:
    """Take `count` consecutive invoice numbers from the tenant's legal sequence, or from the
    test clock's own one: simulations never consume a legal number. The row holding the
    counter stays locked until the transaction ends, so numbers are gap-free (a rollback
    returns them) and never shared. Returns (first number, the tenant's days_until_due)."""
    if test_clock_id is None:
        row = (await uow.session.execute(_RESERVE_NUMBERS, {"n": count, "tenant_id": tenant_id})).one()
    else:
        params = {"n": count, "tenant_id": tenant_id, "test_clock_id": test_clock_id}
        found = (await uow.session.execute(_RESERVE_CLOCK_NUMBERS, params)).one_or_none()
        if found is None:  # deleted while this request ran: nothing of it is written
            raise NotFound(f"no such test clock: '{test_clock_id}' (it was deleted)", field="test_clock")
        row = found
    return row.first, row.days_until_due


async def issue_invoice(
    uow: UnitOfWork,
    tenant_id: str,
    *,
    customer_id: str,
    subscription_id: str | None,
    reason: BillingReason,
    currency: str,
    period: Period,
    lines: list[LineDraft],
    now: datetime,
) -> Invoice:
    """Create a finalized invoice in the caller's transaction. A zero-amount invoice is
    paid on the spot (there is nothing to collect). The customer's test clock, if any,
    decides the numbering sequence and marks the invoice as simulated."""
    test_clock_id = (
        await uow.session.execute(_CUSTOMER_CLOCK, {"tenant_id": tenant_id, "customer_id": customer_id})
    ).scalar_one()
    number, days_until_due = await reserve_numbers(uow, tenant_id, 1, test_clock_id)
    failpoints.hit(failpoints.NUMBERS_LOCKED)
    total = total_of(lines)
    due = amount_due(total)
    invoice = Invoice(
        tenant_id=tenant_id,
        id=new_id("in"),
        number=number,
        customer_id=customer_id,
        subscription_id=subscription_id,
        test_clock_id=test_clock_id,
        status=InvoiceStatus.PAID if due == 0 else InvoiceStatus.OPEN,
        billing_reason=reason,
        currency=currency,
        period_start=period.start,
        period_end=period.end,
        subtotal=total,
        total=total,
        amount_due=due,
        amount_paid=0,
        created_at=now,
        finalized_at=now,
        due_at=now + timedelta(days=days_until_due),
        paid_at=now if due == 0 else None,
    )
    invoice.lines = [
        InvoiceLine(
            tenant_id=tenant_id,
            id=new_id("il"),
            invoice_id=invoice.id,
            position=position,
            description=line.description,
            amount=line.amount,
            currency=currency,
            period_start=line.period_start,
            period_end=line.period_end,
            plan_id=line.plan_id,
            proration=line.proration,
        )
        for position, line in enumerate(lines)
    ]
    uow.repo(tenant_id).add(invoice)
    await uow.flush()  # written now (not at commit), so a crash test can die after the write
    failpoints.hit(failpoints.INVOICES_WRITTEN)
    uow.after_commit(lambda: metrics.invoice_issued(currency, reason, due))
    return invoice
