"""Subscriptions: start (with the first invoice), read, list, and preview the next invoice."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from shared.clock import Clock
from shared.db.repository import Page
from shared.db.tables import Customer, Plan, Subscription
from shared.db.uow import UnitOfWork
from shared.domain import subscriptions as rules
from shared.domain.errors import Conflict
from shared.domain.ids import new_id
from shared.domain.invoices import BillingReason, InvoiceDraft, LineDraft, PendingItem, plan_description
from shared.domain.periods import Period
from shared.domain.subscriptions import SubscriptionStatus
from shared.events import outbox
from shared.services.coupons import redeem
from shared.services.customer_time import now_for
from shared.services.invoice_issuing import issue_invoice, upcoming_draft
from shared.services.rows import cadence_of
from shared.services.tax_rates import checked_rates


def plan_line(plan: Plan, period: Period) -> LineDraft:
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
        subscription = Subscription(
            tenant_id=tenant_id,
            id=new_id("sub"),
            customer_id=customer.id,
            plan_id=plan.id,
            status=start.status,
            billing_cycle_anchor=start.anchor,
            cycle=start.cycle,
            current_period_start=start.period.start,
            current_period_end=start.period.end,
            trial_end=start.trial_end,
            test_clock_id=customer.test_clock_id,
            cancel_at_period_end=False,
            default_tax_rates=rates,
            created_at=now,
        )
        repo.add(subscription)
        outbox.record(uow, "subscription.created", subscription, now)
        await uow.flush()
        if coupon is not None or promotion_code is not None:
            await redeem(uow, subscription, plan, now, coupon_id=coupon, promotion_code_id=promotion_code)
        if start.invoices_now:
            await issue_plan_invoice(uow, subscription, plan, start.period, BillingReason.SUBSCRIPTION_CREATE, now)
        await uow.commit()
    return subscription


async def get_subscription(uow: UnitOfWork, tenant_id: str, subscription_id: str) -> Subscription:
    async with uow.reading():
        return await uow.repo(tenant_id).get(Subscription, subscription_id)


async def list_subscriptions(
    uow: UnitOfWork,
    tenant_id: str,
    *,
    limit: int,
    starting_after: str | None = None,
    customer_id: str | None = None,
    status: SubscriptionStatus | None = None,
) -> Page[Subscription]:
    async with uow:
        return await uow.repo(tenant_id).page(
            Subscription,
            limit=limit,
            starting_after=starting_after,
            customer_id=customer_id,
            status=status,
        )


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
