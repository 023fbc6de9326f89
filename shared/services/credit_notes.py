"""Credit notes: preview, issue, read, list and void (the rules: shared.domain.credit_notes).

LOCK ORDER (docs/ARCHITECTURE.md): the invoice's subscription row, then the invoice (FOR
UPDATE: concurrent credit notes of one invoice run one at a time, each seeing what the
others credited), then the credit note (void), then the customer's balance row, and the
credit note number sequence last, in the statement that writes the note.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.clock import Clock
from shared.db import balances, invoice_writer
from shared.db.credit_note_writer import write_credit_note
from shared.db.repository import Page, Repository
from shared.db.tables import CreditNote, Customer, Invoice, Subscription
from shared.db.uow import UnitOfWork, driver_conflicts
from shared.domain import credit_notes as rules
from shared.domain.credit_notes import CreditNoteReason, CreditNoteStatus, Draft, Request
from shared.domain.discounts import DiscountAmount
from shared.domain.ids import new_id
from shared.domain.invoice_totals import BalanceTransactionType
from shared.domain.invoices import InvoiceStatus
from shared.domain.subscriptions import status_for
from shared.domain.taxes import TaxAmount
from shared.events import outbox
from shared.services.customer_time import now_for


def _discounts(stored: list[dict]) -> tuple[DiscountAmount, ...]:
    return tuple(DiscountAmount(d["discount"], d["amount"]) for d in stored)


def _taxes(stored: list[dict]) -> tuple[TaxAmount, ...]:
    return tuple(TaxAmount(t["tax_rate"], t["amount"], t["inclusive"], t["taxable_amount"]) for t in stored)


async def _state(repo: Repository, invoice: Invoice) -> rules.Invoice:
    """The invoice as the domain decides on it: its lines and what its credit notes credited."""
    credited = rules.credited_of(
        [
            (
                line.invoice_line_id,
                rules.NoteLine(
                    line.invoice_line_id,
                    line.description,
                    line.amount,
                    _discounts(line.discount_amounts),
                    _taxes(line.tax_amounts),
                ),
            )
            for line in await repo.credited_lines(invoice.id)
        ]
    )
    return rules.Invoice(
        InvoiceStatus(invoice.status),
        invoice.total,
        invoice.amount_due,
        invoice.amount_paid,
        tuple(
            rules.InvoiceLine(
                line.id,
                line.description,
                line.amount,
                _discounts(line.discount_amounts),
                _taxes(line.tax_amounts),
                credited.get(line.id, rules.Credited()),
            )
            for line in invoice.lines
        ),
        credited=invoice.pre_payment_credit_notes_amount + invoice.post_payment_credit_notes_amount,
        refunded=await repo.refunded(invoice.id),
    )


@dataclass(frozen=True)
class Preview:
    """A credit note as it would be issued now (nothing written)."""

    invoice: Invoice
    draft: Draft
    reason: CreditNoteReason | None
    memo: str | None


async def preview_credit_note(
    uow: UnitOfWork,
    tenant_id: str,
    invoice_id: str,
    request: Request,
    *,
    reason: CreditNoteReason | None = None,
    memo: str | None = None,
) -> Preview:
    async with uow.reading():
        repo = uow.repo(tenant_id)
        invoice = await repo.get(Invoice, invoice_id)
        draft = rules.decide(await _state(repo, invoice), request)
    return Preview(invoice, draft, reason, memo)


async def _locked_invoice(repo: Repository, invoice_id: str) -> tuple[Subscription | None, Invoice]:
    subscription_id = await repo.subscription_of_invoice(invoice_id)
    subscription = None
    if subscription_id is not None:
        subscription = await repo.get(Subscription, subscription_id, for_update=True)
    return subscription, await repo.get(Invoice, invoice_id, for_update=True)


async def create_credit_note(
    uow: UnitOfWork,
    tenant_id: str,
    clock: Clock,
    invoice_id: str,
    request: Request,
    *,
    reason: CreditNoteReason | None = None,
    memo: str | None = None,
) -> CreditNote:
    async with uow:
        repo = uow.repo(tenant_id)
        subscription, invoice = await _locked_invoice(repo, invoice_id)
        draft = rules.decide(await _state(repo, invoice), request)
        now = await now_for(uow, tenant_id, invoice.test_clock_id, clock)
        conn = await uow.driver_connection()
        note_id = new_id("cn")
        with driver_conflicts():
            await invoice_writer.credit_invoice(
                conn,
                tenant_id,
                invoice.id,
                pre_payment=draft.pre_payment_amount,
                post_payment=draft.post_payment_amount,
                paid_at=now if draft.pays_invoice else None,
            )
            if draft.credit_amount:
                await balances.lock_balances(conn, [(tenant_id, invoice.customer_id, invoice.currency)])
                credit = balances.Entry(
                    tenant_id,
                    new_id("cbtxn"),
                    invoice.customer_id,
                    -draft.credit_amount,
                    invoice.currency,
                    BalanceTransactionType.CREDIT_NOTE,
                    None,
                    memo,
                    now,
                    note_id,
                )
                await balances.append(conn, [credit])
                outbox.record_ledger_entry(uow, credit, test_clock_id=invoice.test_clock_id)
            await write_credit_note(
                conn,
                tenant_id,
                note_id,
                [new_id("cnli") for _ in draft.lines],
                test_clock_id=invoice.test_clock_id,
                invoice_id=invoice.id,
                customer_id=invoice.customer_id,
                currency=invoice.currency,
                reason=None if reason is None else reason.value,
                memo=memo,
                draft=draft,
                created_at=now,
            )
        note = await repo.get(CreditNote, note_id)
        outbox.record(uow, "credit_note.created", note, now)
        outbox.record_invoice(uow, "invoice.updated", invoice, now)
        if draft.pays_invoice:
            outbox.record_invoice(uow, "invoice.paid", invoice, now)
            if subscription is not None:  # past_due exactly while another invoice is overdue
                await _recompute_status(uow, repo, subscription, now)
        await uow.commit()
    return note


async def _recompute_status(uow: UnitOfWork, repo: Repository, subscription: Subscription, now: datetime) -> None:
    before = outbox.snapshot(subscription)
    status = status_for(subscription.status, overdue=await repo.has_overdue(subscription.id, now))
    if status != subscription.status:
        subscription.status = status
        outbox.record(uow, "subscription.updated", subscription, now, before=before)


async def void_credit_note(uow: UnitOfWork, tenant_id: str, credit_note_id: str, clock: Clock) -> CreditNote:
    async with uow:
        repo = uow.repo(tenant_id)
        invoice = await repo.get(Invoice, await repo.invoice_of_credit_note(credit_note_id), for_update=True)
        note = await repo.get(CreditNote, credit_note_id, for_update=True)
        conn = await uow.driver_connection()
        held = await balances.lock_balances(conn, [(tenant_id, note.customer_id, note.currency)])
        rules.check_voidable(
            CreditNoteStatus(note.status),
            pre_payment_amount=note.pre_payment_amount,
            credit_amount=note.credit_amount,
            refund_amount=note.refund_amount,
            invoice_status=InvoiceStatus(invoice.status),
            balance=held.get((tenant_id, note.customer_id, note.currency), 0),
        )
        now = await now_for(uow, tenant_id, note.test_clock_id, clock)
        await invoice_writer.credit_invoice(
            conn,
            tenant_id,
            invoice.id,
            pre_payment=-note.pre_payment_amount,
            post_payment=-(note.credit_amount + note.refund_amount + note.out_of_band_amount),
        )
        if note.credit_amount:
            restored = balances.Entry(
                tenant_id,
                new_id("cbtxn"),
                note.customer_id,
                note.credit_amount,
                note.currency,
                BalanceTransactionType.CREDIT_NOTE,
                None,
                f"Void of credit note {rules.number_label(note.number)}",
                now,
                note.id,
            )
            await balances.append(conn, [restored])
            outbox.record_ledger_entry(uow, restored, test_clock_id=note.test_clock_id)
        note.status = CreditNoteStatus.VOID.value
        note.voided_at = now
        await uow.flush()
        outbox.record(uow, "credit_note.voided", note, now)
        outbox.record_invoice(uow, "invoice.updated", invoice, now)
        await uow.commit()
    return note


async def get_credit_note(uow: UnitOfWork, tenant_id: str, credit_note_id: str) -> CreditNote:
    async with uow.reading():
        return await uow.repo(tenant_id).get(CreditNote, credit_note_id)


async def list_credit_notes(
    uow: UnitOfWork,
    tenant_id: str,
    *,
    limit: int,
    starting_after: str | None = None,
    invoice_id: str | None = None,
    customer_id: str | None = None,
) -> Page[CreditNote]:
    """Newest first; by invoice or customer (each must exist: 404 otherwise)."""
    async with uow.reading():
        repo = uow.repo(tenant_id)
        if invoice_id is not None:
            await repo.get(Invoice, invoice_id)
        if customer_id is not None:
            await repo.get(Customer, customer_id)
        return await repo.page(
            CreditNote, limit=limit, starting_after=starting_after, invoice_id=invoice_id, customer_id=customer_id
        )
