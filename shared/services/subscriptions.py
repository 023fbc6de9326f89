"""Subscriptions: start (with the first invoice), read, list, and preview the next invoice."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from shared.clock import Clock
from shared.db import subscription_start as start_sql
from shared.db.subscription_start import PlanTerms
from shared.db.tables import Customer, Plan, Subscription
from shared.db.uow import UnitOfWork, driver_conflicts
from shared.domain import subscriptions as rules
from shared.domain.errors import Conflict, NotFound
from shared.domain.ids import new_id
from shared.domain.invoices import (
    BillingReason,
    InvoiceDraft,
    LineDraft,
    PendingItem,
    issued_now,
    plan_description,
)
from shared.domain.periods import Period
from shared.domain.taxes import TaxExempt, most_specific
from shared.events import outbox
from shared.services.coupons import redeem
from shared.services.customer_time import now_for
from shared.services.invoice_issuing import issue_invoice, upcoming_draft, write_issued
from shared.services.rows import cadence_of, tax_rate_of
from shared.services.tax_rates import check_rates, checked_rates


def plan_line(plan: Plan | PlanTerms, period: Period) -> LineDraft:
    return LineDraft(
        description=plan_description(plan.name, plan.code),
        amount=plan.amount,
        period_start=period.start,
        period_end=period.end,
        plan_id=plan.id,
    )


async def issue_plan_invoice(
    uow: UnitOfWork,
    subscription: Subscription,
    plan: Plan,
    period: Period,
    reason: BillingReason,
    now: datetime,
    pending: Sequence[PendingItem] = (),
    credits: Sequence[LineDraft] = (),
) -> None:
    """The invoice for one full period of the plan (subscription start, resume), in the
    caller's transaction: the plan line, `credits`, then the pending items."""
    await issue_invoice(
        uow,
        subscription.tenant_id,
        customer_id=subscription.customer_id,
        subscription_id=subscription.id,
        reason=reason,
        currency=plan.currency,
        period=period,
        lines=[plan_line(plan, period), *credits],
        pending=pending,
        now=now,
    )


async def create_subscription(
    uow: UnitOfWork,
    tenant_id: str,
    clock: Clock,
    *,
    customer_id: str,
    plan_id: str,
    trial_period_days: int | None = None,
    default_tax_rates: Sequence[str] = (),
    coupon: str | None = None,
    promotion_code: str | None = None,
) -> Subscription:
    """Start a subscription and, unless it is trialing, issue its first invoice in the
    same transaction: either both exist or neither does."""
    if coupon is None and promotion_code is None:
        return await _start_on_driver(uow, tenant_id, clock, customer_id, plan_id, trial_period_days, default_tax_rates)
    async with uow:
        repo = uow.repo(tenant_id)
        customer = await repo.get(Customer, customer_id)
        plan = await repo.get(Plan, plan_id)
        if not plan.active:
            raise Conflict(f"plan '{plan.id}' is archived and takes no new subscriptions", field="plan_id")
        rates = await checked_rates(uow, tenant_id, default_tax_rates)
        now = await now_for(uow, tenant_id, customer.test_clock_id, clock)
        trial_days = plan.trial_period_days if trial_period_days is None else trial_period_days
        start = rules.start(now, cadence_of(plan), trial_days)
        subscription = _new_row(tenant_id, customer.id, plan.id, start, customer.test_clock_id, rates, now)
        repo.add(subscription)
        outbox.record(uow, "subscription.created", subscription, now)
        await uow.flush()
        if coupon is not None or promotion_code is not None:
            await redeem(uow, subscription, plan, now, coupon_id=coupon, promotion_code_id=promotion_code)
        if start.invoices_now:
            await issue_plan_invoice(uow, subscription, plan, start.period, BillingReason.SUBSCRIPTION_CREATE, now)
        await uow.commit()
    return subscription


def _new_row(
    tenant_id: str,
    customer_id: str,
    plan_id: str,
    start: rules.Start,
    test_clock_id: str | None,
    rates: list[str],
    now: datetime,
) -> Subscription:
    """The new subscription's row, as both ways of starting one write it."""
    return Subscription(
        tenant_id=tenant_id,
        id=new_id("sub"),
        customer_id=customer_id,
        plan_id=plan_id,
        status=start.status,
        billing_cycle_anchor=start.anchor,
        cycle=start.cycle,
        current_period_start=start.period.start,
        current_period_end=start.period.end,
        trial_end=start.trial_end,
        test_clock_id=test_clock_id,
        cancel_at_period_end=False,
        default_tax_rates=rates,
        created_at=now,
    )


async def _start_on_driver(
    uow: UnitOfWork,
    tenant_id: str,
    clock: Clock,
    customer_id: str,
    plan_id: str,
    trial_period_days: int | None,
    default_tax_rates: Sequence[str],
) -> Subscription:
    """create_subscription without a coupon, on fixed SQL (shared.db.subscription_start):
    one statement reads all it needs, one writes the subscription, then the invoice writer;
    the same checks, in the same order, and the same rows as the ORM path."""
    async with uow.on_driver():
        conn = await uow.driver_connection()
        if len(set(default_tax_rates)) != len(default_tax_rates):
            check_rates(default_tax_rates, {})  # (the duplicate's error, before any read)
        found = await start_sql.context(conn, tenant_id, customer_id, plan_id, default_tax_rates)
        if found.customer_id is None:
            raise NotFound(f"no such customer: '{customer_id}'", field="id")
        plan = found.plan
        if plan is None:
            raise NotFound(f"no such plan: '{plan_id}'", field="id")
        if not plan.active:
            raise Conflict(f"plan '{plan.id}' is archived and takes no new subscriptions", field="plan_id")
        rates = check_rates(default_tax_rates, {i: r.active for i, r in found.rates.items()})
        if found.test_clock_id is None:
            now = clock.now()
        elif found.clock_status != "ready" or found.frozen_time is None:
            raise Conflict("test clock is advancing: retry once its status is ready", field="test_clock")
        else:
            now = found.frozen_time
        trial_days = plan.trial_period_days if trial_period_days is None else trial_period_days
        start = rules.start(now, cadence_of(plan), trial_days)
        subscription = _new_row(tenant_id, found.customer_id, plan.id, start, found.test_clock_id, rates, now)
        with driver_conflicts():  # (and the customer's balance locked, when invoicing now)
            balance = await start_sql.insert(conn, subscription, plan.currency if start.invoices_now else None)
        outbox.record_rendered_in_sql(uow, "subscription.created", "subscription", subscription, now)
        if start.invoices_now:
            # The tax rates of the most specific of subscription, plan, customer and tenant.
            ids = most_specific(rates, plan.default_tax_rates, found.customer_rates, found.tenant_rates)
            draft = issued_now(
                BillingReason.SUBSCRIPTION_CREATE,
                currency=plan.currency,
                customer_id=subscription.customer_id,
                subscription_id=subscription.id,
                period=start.period,
                lines=[plan_line(plan, start.period)],
                now=now,
                days_until_due=found.days_until_due,
                test_clock_id=found.test_clock_id,
                discount=None,  # a new subscription's discount comes from a coupon only
                tax_rates=tuple(tax_rate_of(found.rates[i]) for i in ids if i in found.rates),
                tax_exempt=TaxExempt(found.tax_exempt),
            )
            # The invoice is the last write: its number's row lock is held only by that
            # statement and the commit (the events go before it).
            await write_issued(
                uow, tenant_id, draft, BillingReason.SUBSCRIPTION_CREATE, now, last=True, balance=balance
            )
        await uow.commit()
    return subscription


async def upcoming_invoice(uow: UnitOfWork, tenant_id: str, subscription_id: str) -> InvoiceDraft:
    """Preview the next renewal invoice (plan line plus pending prorations): the draft the
    renewal engine would write. Read-only."""
    async with uow:
        return await upcoming_draft(uow, tenant_id, subscription_id)


async def locked_subscription(
    uow: UnitOfWork, tenant_id: str, subscription_id: str, clock: Clock
) -> tuple[Subscription, datetime]:
    """The subscription row, locked for this transaction, and the time it lives in."""
    subscription = await uow.repo(tenant_id).get(Subscription, subscription_id, for_update=True)
    return subscription, await now_for(uow, tenant_id, subscription.test_clock_id, clock)
