"""Subscription lifecycle: cancel (now or at period end), uncancel, pause, resume, change plan.

Every use case locks the subscription row first (then invoices, then the tenant row for
numbering): one lock order everywhere, so these never deadlock with a renewal run.
"""

from __future__ import annotations

from datetime import datetime

from shared import metrics
from shared.clock import Clock
from shared.db.tables import InvoiceItem, Plan, Subscription
from shared.db.uow import UnitOfWork
from shared.domain.errors import Conflict, Invalid
from shared.domain.ids import new_id
from shared.domain.invoices import BillingReason, LineDraft
from shared.domain.periods import Period
from shared.domain.proration import Proration, change_lines
from shared.domain.subscriptions import Action, SubscriptionStatus, require, require_pending_cancel
from shared.services.invoice_issuing import issue_invoice, pending_items
from shared.services.subscriptions import cadence_of, locked_subscription, plan_line


async def cancel(
    uow: UnitOfWork, tenant_id: str, subscription_id: str, clock: Clock, *, at_period_end: bool = False
) -> Subscription:
    async with uow:
        subscription, now = await locked_subscription(uow, tenant_id, subscription_id, clock)
        if at_period_end:
            require(subscription.status, Action.CANCEL_AT_PERIOD_END)
            subscription.cancel_at_period_end = True
            subscription.canceled_at = now
        else:
            require(subscription.status, Action.CANCEL_NOW)
            subscription.status = SubscriptionStatus.CANCELED
            uow.after_commit(lambda: metrics.transition(SubscriptionStatus.CANCELED))
            subscription.cancel_at_period_end = False
            subscription.canceled_at = now
            subscription.ended_at = now
        await uow.commit()
    return subscription


async def resume_cancel(uow: UnitOfWork, tenant_id: str, subscription_id: str, clock: Clock) -> Subscription:
    """Undo a pending cancel-at-period-end: the subscription renews as usual again."""
    async with uow:
        subscription, _ = await locked_subscription(uow, tenant_id, subscription_id, clock)
        require_pending_cancel(subscription.status, subscription.cancel_at_period_end)
        subscription.cancel_at_period_end = False
        subscription.canceled_at = None
        await uow.commit()
    return subscription


async def pause(uow: UnitOfWork, tenant_id: str, subscription_id: str, clock: Clock) -> Subscription:
    """No invoices while paused; the renewal run skips paused subscriptions."""
    async with uow:
        subscription, now = await locked_subscription(uow, tenant_id, subscription_id, clock)
        require(subscription.status, Action.PAUSE)
        subscription.status = SubscriptionStatus.PAUSED
        uow.after_commit(lambda: metrics.transition(SubscriptionStatus.PAUSED))
        subscription.paused_at = now
        await uow.commit()
    return subscription


async def resume(uow: UnitOfWork, tenant_id: str, subscription_id: str, clock: Clock) -> Subscription:
    """A new period starts at the resume time (the new billing-cycle anchor), with its
    invoice, which also carries any pending prorations."""
    async with uow:
        subscription, now = await locked_subscription(uow, tenant_id, subscription_id, clock)
        require(subscription.status, Action.RESUME)
        plan = await uow.repo(tenant_id).get(Plan, subscription.plan_id)
        period = cadence_of(plan).period(now, 0)
        subscription.status = SubscriptionStatus.ACTIVE
        uow.after_commit(lambda: metrics.transition(SubscriptionStatus.ACTIVE))
        subscription.paused_at = None
        subscription.billing_cycle_anchor = now
        subscription.cycle = 1
        subscription.current_period_start, subscription.current_period_end = period.start, period.end
        await issue_invoice(
            uow,
            tenant_id,
            customer_id=subscription.customer_id,
            subscription_id=subscription.id,
            reason=BillingReason.SUBSCRIPTION_CYCLE,
            currency=plan.currency,
            period=period,
            lines=[plan_line(plan, period)],
            pending=await pending_items(uow, tenant_id, subscription.id),
            now=now,
        )
        await uow.commit()
    return subscription


def _proration_lines(old: Plan, new: Plan, period: Period, at: datetime) -> list[LineDraft]:
    credit, charge = change_lines(old.amount, new.amount, period, at)
    if at >= period.end:
        return []
    stamp = at.strftime("%Y-%m-%d %H:%M UTC")
    return [
        LineDraft(f"Unused time on {old.name} ({old.code}) after {stamp}", credit, at, period.end, old.id, True),
        LineDraft(f"Remaining time on {new.name} ({new.code}) after {stamp}", charge, at, period.end, new.id, True),
    ]


async def change_plan(
    uow: UnitOfWork,
    tenant_id: str,
    subscription_id: str,
    clock: Clock,
    *,
    plan_id: str,
    proration: Proration = Proration.CREATE_PRORATIONS,
) -> Subscription:
    """Switch plans now. Proration is by seconds left in the current period: a credit for
    the old plan's unused part and a charge for the new plan's remainder, each rounded
    half-up once, invoiced now (always_invoice), on the next renewal (create_prorations),
    or not at all (none: the new price starts next period)."""
    async with uow:
        subscription, now = await locked_subscription(uow, tenant_id, subscription_id, clock)
        require(subscription.status, Action.CHANGE_PLAN)
        repo = uow.repo(tenant_id)
        old = await repo.get(Plan, subscription.plan_id)
        new = await repo.get(Plan, plan_id)
        if new.id == old.id:
            raise Conflict("the subscription is already on this plan", field="plan_id")
        if not new.active:
            raise Conflict(f"plan '{new.id}' is archived and takes no new subscriptions", field="plan_id")
        if new.currency != old.currency:
            raise Invalid(
                f"a plan change keeps the currency ({old.currency}); '{new.id}' is {new.currency}", field="plan_id"
            )

        period = Period(subscription.current_period_start, subscription.current_period_end)
        lines = (
            []
            if subscription.status == SubscriptionStatus.TRIALING or proration is Proration.NONE
            else _proration_lines(old, new, period, now)
        )
        if proration is Proration.ALWAYS_INVOICE and lines:
            await issue_invoice(
                uow,
                tenant_id,
                customer_id=subscription.customer_id,
                subscription_id=subscription.id,
                reason=BillingReason.SUBSCRIPTION_UPDATE,
                currency=new.currency,
                period=Period(now, period.end),
                lines=lines,
                now=now,
            )
        for line in lines if proration is Proration.CREATE_PRORATIONS else []:
            repo.add(
                InvoiceItem(
                    tenant_id=tenant_id,
                    id=new_id("ii"),
                    customer_id=subscription.customer_id,
                    subscription_id=subscription.id,
                    description=line.description,
                    amount=line.amount,
                    currency=new.currency,
                    period_start=line.period_start,
                    period_end=line.period_end,
                    plan_id=line.plan_id,
                    proration=True,
                    created_at=now,
                )
            )
        if cadence_of(new) != cadence_of(old):
            # A new cadence starts at the end of the current period: re-anchor there.
            subscription.billing_cycle_anchor = subscription.current_period_end
            subscription.cycle = 0
        subscription.plan_id = new.id
        await uow.commit()
    return subscription
