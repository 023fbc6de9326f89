"""Invoices a request issues (subscription start, resume, prorations billed at once) and the
upcoming-invoice preview: drafted in shared.domain.invoices, written by
shared.db.invoice_writer in the request's own transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from shared.db.balances import lock_balances
from shared.db.invoice_writer import Written, prepare_one, record_issued, write_invoices, write_one
from shared.db.tables import Discount as DiscountRow
from shared.db.tables import Plan, Subscription
from shared.db.uow import UnitOfWork, driver_conflicts
from shared.domain.discounts import Discount
from shared.domain.invoices import (
    CYCLE_REASONS,
    Billed,
    BillingReason,
    InvoiceDraft,
    LineDraft,
    PendingItem,
    issued_now,
    upcoming_invoice,
)
from shared.domain.periods import Period
from shared.domain.renewal import Terms, state_of
from shared.domain.taxes import TaxExempt, TaxRate, most_specific
from shared.events import outbox
from shared.services.rows import cadence_of, lifecycle_of, tax_rate_of


@dataclass(frozen=True)
class Pricing:
    """What an invoice of a customer (and subscription) applies besides its lines."""

    discount: Discount | None = None
    tax_rates: tuple[TaxRate, ...] = ()
    tax_exempt: TaxExempt = TaxExempt.NONE


async def pricing(uow: UnitOfWork, tenant_id: str, customer_id: str, subscription_id: str | None) -> Pricing:
    """The subscription's running discount, and the tax rates of the most specific of
    subscription, plan, customer and tenant settings (shared.domain.taxes)."""
    repo = uow.repo(tenant_id)
    context = await repo.tax_context(customer_id, subscription_id)
    ids = most_specific(context.subscription_rates, context.plan_rates, context.customer_rates, context.tenant_rates)
    rows = await repo.tax_rates(ids)
    return Pricing(
        discount=await running_discount(uow, tenant_id, subscription_id),
        tax_rates=tuple(tax_rate_of(rows[i]) for i in ids if i in rows),
        tax_exempt=TaxExempt(context.tax_exempt),
    )


async def running_discount(uow: UnitOfWork, tenant_id: str, subscription_id: str | None) -> Discount | None:
    """The subscription's running discount as the domain applies it (None: none)."""
    if subscription_id is None:
        return None
    found = await uow.repo(tenant_id).running_discount(subscription_id)
    if found is None:
        return None
    discount, coupon = found
    return Discount.of(
        discount.id,
        coupon.id,
        coupon.percent_off,
        coupon.amount_off,
        coupon.currency,
        coupon.applies_to_plans,
        discount.periods_left,
    )


async def pending_items(uow: UnitOfWork, tenant_id: str, subscription_id: str) -> list[PendingItem]:
    """The subscription's items waiting for its next invoice, in the order they join it."""
    items = await uow.repo(tenant_id).pending_items(subscription_id)
    return [
        PendingItem(i.id, LineDraft(i.description, i.amount, i.period_start, i.period_end, i.plan_id, i.proration))
        for i in items
    ]


async def issue_invoice(
    uow: UnitOfWork,
    tenant_id: str,
    *,
    customer_id: str,
    subscription_id: str | None,
    reason: BillingReason,
    currency: str,
    period: Period,
    lines: Sequence[LineDraft],
    now: datetime,
    pending: Sequence[PendingItem] = (),
) -> Written:
    """Issue a finalized invoice at `now` in the caller's transaction, absorbing `pending`
    items. The customer's test clock, if any, decides the numbering sequence and marks the
    invoice as simulated. Counted in the metrics once the caller commits."""
    terms = await uow.repo(tenant_id).billing_terms(customer_id)
    priced = await pricing(uow, tenant_id, customer_id, subscription_id)
    draft = issued_now(
        reason,
        currency=currency,
        customer_id=customer_id,
        subscription_id=subscription_id,
        period=period,
        lines=lines,
        now=now,
        days_until_due=terms.days_until_due,
        pending=pending,
        test_clock_id=terms.test_clock_id,
        discount=priced.discount,
        tax_rates=priced.tax_rates,
        tax_exempt=priced.tax_exempt,
    )
    return await write_issued(uow, tenant_id, draft, reason, now)


async def write_issued(
    uow: UnitOfWork,
    tenant_id: str,
    draft: InvoiceDraft,
    reason: BillingReason,
    now: datetime,
    *,
    last: bool = False,
    balance: int | None = None,
) -> Written:
    """Write an issued invoice `draft` in the caller's transaction: the customer's balance
    applied (its row locked to the commit), then the invoice, its number last. `last`: the
    caller writes and records nothing more before its commit, so the events recorded so far
    and the invoice's own go first, and the statement that takes the number (its row lock
    held to the commit) is the transaction's last (when no balance changes). `balance`: the
    customer's balance in the draft's currency, locked by the caller (None: locked here)."""
    customer_id, currency = draft.customer_id, draft.currency
    await uow.flush()  # the ORM's writes first (e.g. the new subscription the invoice refers to)
    conn = await uow.driver_connection()
    # The customer's balance in this currency, locked to the commit, is applied to the invoice.
    if balance is None:
        locked = await lock_balances(conn, [(tenant_id, customer_id, currency)])
        balance = locked.get((tenant_id, customer_id, currency), 0)
    draft = draft.with_starting_balance(balance)
    # The invoice of a new billing period uses up one period of the discount.
    uses_discount_period = draft.discount is not None and reason in CYCLE_REASONS
    if last and not draft.totals.balance_change and not uses_discount_period:
        one = prepare_one(tenant_id, draft)
        issued = outbox.record_issued_unnumbered(uow, one)
        event_ids = await uow.write_recorded()
        with driver_conflicts():
            written = await write_one(conn, one, numbered_events=event_ids[-issued:])
        uow.after_commit(lambda: record_issued([written]))
        return written
    with driver_conflicts():
        [written] = await write_invoices(conn, [(tenant_id, draft)])
    if uses_discount_period and draft.discount is not None:  # (the second test: for the type checker)
        left = draft.discount.after_new_period()
        await uow.repo(tenant_id).use_discount_period(left, now)
        if not left.active:  # its last period: the discount ends
            used_up = await uow.repo(tenant_id).loaded(DiscountRow, left.id)
            outbox.record(uow, "customer.discount.deleted", used_up, now, test_clock_id=draft.test_clock_id)
    uow.after_commit(lambda: record_issued([written]))
    outbox.record_issued(uow, [written])
    outbox.record_balance_transactions(uow, [written])
    return written


async def upcoming_draft(uow: UnitOfWork, tenant_id: str, subscription_id: str) -> InvoiceDraft:
    """The invoice the subscription's next renewal writes, drafted as the renewal engine
    drafts it (shared.domain.invoices.upcoming_invoice). Read-only; 409 if it will not renew."""
    repo = uow.repo(tenant_id)
    subscription = await repo.get(Subscription, subscription_id)
    plan = await repo.get(Plan, subscription.plan_id)
    terms = await repo.billing_terms(subscription.customer_id)
    state = state_of(lifecycle_of(subscription))
    priced = await pricing(uow, tenant_id, subscription.customer_id, subscription.id)
    billed = Billed(
        customer_id=subscription.customer_id,
        subscription_id=subscription.id,
        test_clock_id=subscription.test_clock_id,
        plan_id=plan.id,
        plan_name=plan.name,
        plan_code=plan.code,
        amount=plan.amount,
        currency=plan.currency,
        discount=priced.discount,
        tax_rates=priced.tax_rates,
        tax_exempt=priced.tax_exempt,
    )
    plan_terms = Terms(
        cadence_of(plan),
        plan.amount,
        days_until_due=terms.days_until_due,
        grace_days=terms.grace_period_days,
    )
    from shared.services.usage_billing import measured_lines  # (it issues invoices through this module)

    _, usage, _ = await measured_lines(uow, subscription, plan, subscription.current_period_end)
    pending = await pending_items(uow, tenant_id, subscription.id)
    balance = await repo.balance(subscription.customer_id, plan.currency)
    return upcoming_invoice(state, plan_terms, billed, pending, usage, balance)
