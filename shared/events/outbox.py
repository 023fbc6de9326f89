"""What use cases call to record an event in their unit of work (one call per event).

The event's `data.object` is the object as the API renders it (the pydantic models of
shared.schemas), rendered when the unit of work commits, so it shows the state the
transaction commits. Invoices are rendered in SQL from their rows (the set-based invoice
writer leaves no ORM rows), by the same statement that writes the events.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from shared.db import balances, tables
from shared.db.event_writer import PendingEvent
from shared.db.invoice_writer import OneInvoice, Written
from shared.db.uow import UnitOfWork
from shared.domain.invoices import InvoiceDraft, InvoiceStatus
from shared.schemas.balances import BalanceTransaction
from shared.schemas.coupons import Coupon, Discount, PromotionCode
from shared.schemas.credit_notes import CreditNote
from shared.schemas.customers import Customer
from shared.schemas.meters import Meter
from shared.schemas.plans import Plan
from shared.schemas.subscriptions import Subscription
from shared.schemas.tax_rates import TaxRate
from shared.schemas.test_clocks import TestClock
from shared.schemas.webhooks import WebhookEndpoint

_MODELS: dict[type[tables.Base], type[BaseModel]] = {
    tables.Customer: Customer,
    tables.CreditNote: CreditNote,
    tables.Plan: Plan,
    tables.Meter: Meter,
    tables.Subscription: Subscription,
    tables.TestClock: TestClock,
    tables.WebhookEndpoint: WebhookEndpoint,
    tables.Coupon: Coupon,
    tables.PromotionCode: PromotionCode,
    tables.TaxRate: TaxRate,
    tables.Discount: Discount,
    tables.BalanceTransaction: BalanceTransaction,
}


def render(row: tables.Base) -> dict[str, Any]:
    """The object as the API renders it, as JSON values."""
    model = _MODELS[type(row)]
    return json.loads(model.model_validate(row, from_attributes=True).model_dump_json())


def snapshot(row: tables.Base) -> dict[str, Any]:
    """The object before an update: pass it to `record(..., before=...)`."""
    return render(row)


_UNSET: Any = object()


def record(
    uow: UnitOfWork,
    type: str,
    row: tables.Base,
    now: datetime,
    *,
    before: dict[str, Any] | None = None,
    test_clock_id: str | None = _UNSET,
) -> None:
    """Record event `type` about `row`, rendered at commit. With `before` (a snapshot), the
    event carries `previous_attributes`: the former values of what changed. `test_clock_id`:
    the test clock the object lives in, for objects that do not name it (a discount: its
    subscription's)."""

    def previous() -> dict[str, Any] | None:
        if before is None:
            return None
        after = render(row)
        return {k: v for k, v in before.items() if after.get(k) != v}

    uow.record(
        PendingEvent(
            tenant_id=row.tenant_id,  # type: ignore[attr-defined]
            type=type,
            object_id=row.id,  # type: ignore[attr-defined]
            created=now,
            object=lambda: render(row),
            previous=previous if before is not None else None,
            test_clock_id=test_clock_id
            if test_clock_id is not _UNSET
            else row.id
            if isinstance(row, tables.TestClock)
            else getattr(row, "test_clock_id", None),
        )
    )


def record_rendered_in_sql(uow: UnitOfWork, type: str, kind: str, row: tables.Base, now: datetime) -> None:
    """Record event `type` about a new `row` whose object the event statement renders in SQL
    from its table (`kind`: 'subscription', 'invoice' or 'discount'; the row must be written
    before the events): the same object as `record`'s, without a model round in Python."""
    uow.record(
        PendingEvent(
            tenant_id=row.tenant_id,  # type: ignore[attr-defined]
            type=type,
            object_id=row.id,  # type: ignore[attr-defined]
            created=now,
            kind=kind,
            test_clock_id=getattr(row, "test_clock_id", None),
        )
    )


def changed(before: dict[str, Any], row: tables.Base) -> bool:
    """Whether `row` renders otherwise than its snapshot `before` (an update event is due)."""
    return render(row) != before


def record_ledger_entry(
    uow: UnitOfWork, entry: balances.Entry, *, test_clock_id: str | None
) -> tables.BalanceTransaction:
    """customer.balance_transaction.created for a ledger row a request appended itself
    (an adjustment, a credit note's credit or its void); the row as rendered."""
    row = tables.BalanceTransaction(
        tenant_id=entry.tenant_id,
        id=entry.id,
        customer_id=entry.customer_id,
        amount=entry.amount,
        currency=entry.currency,
        type=entry.type.value,
        invoice_id=entry.invoice_id,
        credit_note_id=entry.credit_note_id,
        description=entry.description,
        created_at=entry.created_at,
    )
    record(uow, "customer.balance_transaction.created", row, entry.created_at, test_clock_id=test_clock_id)
    return row


def record_balance_transactions(uow: UnitOfWork, written: Sequence[Written]) -> None:
    """customer.balance_transaction.created for the ledger row each invoice wrote in its
    customer's balance (shared.db.invoice_writer: a negative total credited, or the
    balance applied), rendered in SQL by the event statement."""
    for w in written:
        if w.draft.totals.balance_change:
            uow.record(balance_transaction_event(w))


def balance_transaction_event(w: Written, renewal_run: str | None = None) -> PendingEvent:
    return PendingEvent(
        w.tenant_id,
        "customer.balance_transaction.created",
        w.id,
        w.draft.created_at,
        kind="invoice_balance_transaction",
        test_clock_id=w.draft.test_clock_id,
        renewal_run=renewal_run,
    )


def lifecycle_type(old: str, new: str) -> str:
    """The event of a subscription's lifecycle change from status `old` to `new`."""
    if new != old and new == "canceled":
        return "subscription.canceled"
    if new != old and new == "paused":
        return "subscription.paused"
    if old == "paused" and new != old:
        return "subscription.resumed"
    return "subscription.updated"


def record_invoice(uow: UnitOfWork, type: str, invoice: tables.Invoice, now: datetime) -> None:
    record_rendered_in_sql(uow, type, "invoice", invoice, now)


def issued_types(status: InvoiceStatus) -> tuple[str, ...]:
    """The events of an invoice issued finalized (with nothing due it is paid at once)."""
    paid = ("invoice.paid",) if status is InvoiceStatus.PAID else ()
    return ("invoice.created", "invoice.finalized", *paid)


def _record_issued(uow: UnitOfWork, tenant_id: str, invoice_id: str, draft: InvoiceDraft, **rendering: Any) -> int:
    """The issued events of one invoice (`rendering`: its `kind`, or its `object`); how many."""
    types = issued_types(draft.status)
    for type in types:
        uow.record(
            PendingEvent(tenant_id, type, invoice_id, draft.created_at, test_clock_id=draft.test_clock_id, **rendering)
        )
    return len(types)


def record_issued(uow: UnitOfWork, written: Sequence[Written]) -> None:
    for w in written:
        _record_issued(uow, w.tenant_id, w.id, w.draft, kind="invoice")


def record_issued_unnumbered(uow: UnitOfWork, one: OneInvoice) -> int:
    """The issued events of invoice `one`, not written yet: its object rendered from its
    draft, number null until shared.db.invoice_writer.write_one sets it in these events
    (written before it); how many."""
    return _record_issued(uow, one.tenant_id, one.id, one.draft, object=one.rendered())
