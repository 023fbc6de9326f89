from __future__ import annotations

from shared.clock import Clock
from shared.db.repository import Page
from shared.db.tables import Invoice
from shared.db.uow import UnitOfWork
from shared.domain.invoices import InvoiceStatus, check_transition
from shared.schemas.invoices import InvoiceListQuery


async def get_invoice(uow: UnitOfWork, tenant_id: str, invoice_id: str) -> Invoice:
    async with uow:
        return await uow.repo(tenant_id).get(Invoice, invoice_id)


async def list_invoices(uow: UnitOfWork, tenant_id: str, query: InvoiceListQuery) -> Page[Invoice]:
    async with uow:
        return await uow.repo(tenant_id).page(
            Invoice,
            limit=query.limit,
            starting_after=query.starting_after,
            customer_id=query.customer_id,
            subscription_id=query.subscription_id,
            status=query.status,
        )


async def pay_invoice(uow: UnitOfWork, tenant_id: str, invoice_id: str, clock: Clock) -> Invoice:
    """Record that the invoice was paid in full (out of band: no payment processor here)."""
    async with uow:
        invoice = await uow.repo(tenant_id).get(Invoice, invoice_id, for_update=True)
        check_transition(InvoiceStatus(invoice.status), InvoiceStatus.PAID)
        invoice.status = InvoiceStatus.PAID
        invoice.amount_paid = invoice.amount_due
        invoice.paid_at = clock.now()
        await uow.commit()
    return invoice


async def void_invoice(uow: UnitOfWork, tenant_id: str, invoice_id: str, clock: Clock) -> Invoice:
    async with uow:
        invoice = await uow.repo(tenant_id).get(Invoice, invoice_id, for_update=True)
        check_transition(InvoiceStatus(invoice.status), InvoiceStatus.VOID)
        invoice.status = InvoiceStatus.VOID
        invoice.voided_at = clock.now()
        await uow.commit()
    return invoice
