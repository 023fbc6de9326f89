"""Subscriptions: start (with the first invoice), read, list, and preview the next invoice."""
from __future__ import annotations

from datetime import datetime

from shared.clock import Clock
from shared.db.repository import Page
from shared.db.tables import Customer, InvoiceItem, Plan, Subscription
from shared.db.uow import UnitOfWork
from shared.domain import subscriptions as rules
from shared.domain.errors import Conflict
from shared.domain.ids import new_id
from shared.domain.invoices import BillingReason, LineDraft, amount_due, plan_description, total_of
from shared.domain.periods import Cadence, Interval, Period
from shared.domain.subscriptions import SubscriptionStatus, has_upcoming_invoice
from shared.schemas.invoices import LineDetail, UpcomingInvoice
from shared.services.invoicing import issue_invoice
from shared.services.customer_time import now_for


def cadence_of(plan: Plan) -> Cadence:
    return Cadence(Interval(plan.interval), plan.interval_count)


def plan_line(plan: Plan, period: Period) -> LineDraft:
    return LineDraft(
        description=plan_description(plan.name, plan.code),
        amount=plan.amount,
        period_start=period.start,
        period_end=period.end,
        plan_id=plan.id,
    )


def item_line(item: InvoiceItem) -> LineDraft:
    return LineDraft(item.description, item.amount, item.period_start, item.period_end, item.plan_id, item.proration)


async def pending_items(uow: UnitOfWork, tenant_id: str, subscription_id: str) -> list[InvoiceItem]:
    return await uow.repo(tenant_id).pending_items(subscription_id)


async def create_subscription(
    uow: UnitOfWork, tenant_id: str, clock: Clock, *, customer_id: str, plan_id: str,
    trial_period_days: int | None = None,
) -> Subscription:
    """Start a subscription and, unless it is trialing, issue its first invoice in the
    same transaction: either both exist or neither does."""
    async with uow:
        repo = uow.repo(tenant_id)
        customer = await repo.get(Customer, customer_id)
        plan = await repo.get(Plan, plan_id)
        if not plan.active:
            raise Conflict(f"plan '{plan.id}' is archived and takes no new subscriptions", field="plan_id")
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
            created_at=now,
        )
        repo.add(subscription)
        await uow.flush()
        if start.invoices_now:
            await issue_invoice(
                uow,
                tenant_id,
                customer_id=customer.id,
                subscription_id=subscription.id,
                reason=BillingReason.SUBSCRIPTION_CREATE,
                currency=plan.currency,
                period=start.period,
                lines=[plan_line(plan, start.period)],
                now=now,
            )
        await uow.commit()
    return subscription


async def get_subscription(uow: UnitOfWork, tenant_id: str, subscription_id: str) -> Subscription:
    async with uow:
        return await uow.repo(tenant_id).get(Subscription, subscription_id)


async def list_subscriptions(uow: UnitOfWork, tenant_id: str, *, limit: int, starting_after: str | None = None,
                             customer_id: str | None = None,
                             status: SubscriptionStatus | None = None) -> Page[Subscription]:
    async with uow:
        return await uow.repo(tenant_id).page(
            Subscription,
            limit=limit,
            starting_after=starting_after,
            customer_id=customer_id,
            status=status,
        )


def next_period(subscription: Subscription, cadence: Cadence) -> Period:
    """The period the next renewal will bill (from the anchor: never drifts)."""
    end = cadence.boundary(subscription.billing_cycle_anchor, subscription.cycle + 1)
    return Period(subscription.current_period_end, end)


async def upcoming_invoice(uow: UnitOfWork, tenant_id: str, subscription_id: str) -> UpcomingInvoice:
    """Preview the next renewal invoice (plan line plus pending prorations). Read-only."""
    async with uow:
        repo = uow.repo(tenant_id)
        subscription = await repo.get(Subscription, subscription_id)
        has_upcoming_invoice(subscription.status, subscription.cancel_at_period_end)
        plan = await repo.get(Plan, subscription.plan_id)
        period = next_period(subscription, cadence_of(plan))
        lines = [plan_line(plan, period)] + [item_line(i) for i in await pending_items(uow, tenant_id, subscription.id)]
        total = total_of(lines)
        return UpcomingInvoice(
            customer_id=subscription.customer_id,
            subscription_id=subscription.id,
            currency=plan.currency,
            period_start=period.start,
            period_end=period.end,
            subtotal=total,
            total=total,
            amount_due=amount_due(total),
            lines=[LineDetail.model_validate(line, from_attributes=True) for line in lines],
        )


async def locked_subscription(
    uow: UnitOfWork, tenant_id: str, subscription_id: str, clock: Clock
) -> tuple[Subscription, datetime]:
    """The subscription row, locked for this transaction, and the time it lives in."""
    subscription = await uow.repo(tenant_id).get(Subscription, subscription_id, for_update=True)
    return subscription, await now_for(uow, tenant_id, subscription.test_clock_id, clock)
