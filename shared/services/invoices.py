"""Invoices: settle (pay or void), which may bring a past_due subscription back."""

from __future__ import annotations

from shared import metrics
from shared.clock import Clock
from shared.db.tables import Invoice, Subscription
from shared.db.uow import UnitOfWork
from shared.domain.invoices import InvoiceStatus, check_transition
from shared.domain.subscriptions import status_for
from shared.events import outbox
from shared.services.customer_time import now_for


async def _settle(uow: UnitOfWork, tenant_id: str, invoice_id: str, target: InvoiceStatus, clock: Clock) -> Invoice:
    """Move an invoice to paid or void. Locks the subscription before the invoice (the
    renewal engine's order); the subscription's status is then recomputed from the
    overdue check (shared.domain.subscriptions.status_for)."""
    repo = uow.repo(tenant_id)
    # Only the subscription id is needed before locking (it never changes): the invoice
    # itself is loaded once, under its lock.
    subscription_id = await repo.subscription_of_invoice(invoice_id)
    subscription = None
    if subscription_id is not None:
        subscription = await repo.get(Subscription, subscription_id, for_update=True)
    invoice = await repo.get(Invoice, invoice_id, for_update=True)
    check_transition(InvoiceStatus(invoice.status), target)
    test_clock_id = subscription.test_clock_id if subscription is not None else None
    now = await now_for(uow, tenant_id, test_clock_id, clock)
    invoice.status = target
    counter = metrics.invoices_paid if target is InvoiceStatus.PAID else metrics.invoices_voided
    uow.after_commit(lambda: counter.add(1, {"currency": invoice.currency}))
    if target is InvoiceStatus.PAID:
        invoice.amount_paid = invoice.amount_due
        invoice.paid_at = now
    else:
        invoice.voided_at = now
    outbox.record_invoice(uow, "invoice.paid" if target is InvoiceStatus.PAID else "invoice.voided", invoice, now)
    await uow.flush()
    if subscription is not None:  # past_due exactly while another invoice is overdue
        before = outbox.snapshot(subscription)
        status = status_for(subscription.status, overdue=await repo.has_overdue(subscription.id, now))
        if status != subscription.status:
            subscription.status = status
            outbox.record(uow, "subscription.updated", subscription, now, before=before)
            uow.after_commit(lambda: metrics.transition(status))
    return invoice


async def pay_invoice(uow: UnitOfWork, tenant_id: str, invoice_id: str, clock: Clock) -> Invoice:
    """Record that the invoice was paid in full (out of band: no payment processor here)."""
    async with uow:
        invoice = await _settle(uow, tenant_id, invoice_id, InvoiceStatus.PAID, clock)
        await uow.commit()
    return invoice


async def void_invoice(uow: UnitOfWork, tenant_id: str, invoice_id: str, clock: Clock) -> Invoice:
    async with uow:
        invoice = await _settle(uow, tenant_id, invoice_id, InvoiceStatus.VOID, clock)
        await uow.commit()
    return invoice
