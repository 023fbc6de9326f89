"""Subscription lifecycle: cancel (now or at period end), uncancel, pause, resume, change plan.

Each use case loads the subscription (locking its row first, then invoices, then the
numbering rows: one lock order everywhere, so these never deadlock with a renewal run), maps
it to plain values, lets the domain decide (shared.domain.subscriptions, plan_changes),
writes the outcome back and commits.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from shared import metrics
from shared.clock import Clock
from shared.db.tables import InvoiceItem, Plan, Subscription
from shared.db.uow import UnitOfWork
from shared.domain import subscriptions as rules
from shared.domain.ids import new_id
from shared.domain.invoices import BillingReason, pending_period, resume_credit, spanning
from shared.domain.periods import Period
from shared.domain.plan_changes import PlanTerms
from shared.domain.plan_changes import change_plan as decide_plan_change
from shared.domain.proration import Proration
from shared.domain.subscriptions import Lifecycle
from shared.events import outbox
from shared.services.invoice_issuing import issue_invoice, pending_items
from shared.services.rows import billed_of, cadence_of, lifecycle_of
from shared.services.subscriptions import issue_plan_invoice, locked_subscription
from shared.services.usage_billing import close_usage


def _apply(uow: UnitOfWork, row: Subscription, new: Lifecycle, now: datetime) -> None:
    """Write the decided lifecycle back; a status change is counted once the commit holds."""
    outbox.record(uow, outbox.lifecycle_type(row.status, new.status), row, now, before=outbox.snapshot(row))
    if new.status != row.status:
        uow.after_commit(lambda: metrics.transition(new.status))
    row.status = new.status
    row.billing_cycle_anchor, row.cycle = new.anchor, new.cycle
    row.current_period_start, row.current_period_end = new.period_start, new.period_end
    row.cancel_at_period_end, row.canceled_at = new.cancel_at_period_end, new.canceled_at
    row.paused_at, row.ended_at = new.paused_at, new.ended_at


def _terms(plan: Plan) -> PlanTerms:
    return PlanTerms(plan.id, plan.name, plan.code, plan.amount, plan.currency, cadence_of(plan), plan.active)


async def _act(
    uow: UnitOfWork,
    tenant_id: str,
    subscription_id: str,
    clock: Clock,
    decide: Callable[[Lifecycle, datetime], Lifecycle],
) -> Subscription:
    async with uow:
        subscription, now = await locked_subscription(uow, tenant_id, subscription_id, clock)
        _apply(uow, subscription, decide(lifecycle_of(subscription), now), now)
        await uow.commit()
    return subscription


async def cancel(
    uow: UnitOfWork, tenant_id: str, subscription_id: str, clock: Clock, *, at_period_end: bool = False
) -> Subscription:
    """At period end: the renewal run ends it there (with a final invoice of its pending
    prorations). Now: it ends at once and its pending prorations go on a final invoice
    dated now (as Stripe's cancel with `invoice_now`), never silently lost; the usage period
    closes now and is billed on that same invoice (one final invoice: usage lines, then the
    pending items). Its open invoices stay open and payable."""
    if at_period_end:
        return await _act(
            uow, tenant_id, subscription_id, clock, lambda s, now: rules.cancel(s, now, at_period_end=True)
        )
    async with uow:
        subscription, now = await locked_subscription(uow, tenant_id, subscription_id, clock)
        ended = rules.cancel(lifecycle_of(subscription), now, at_period_end=False)
        plan = await uow.repo(tenant_id).get(Plan, subscription.plan_id)
        usage_window, usage = await close_usage(uow, subscription, plan, now)  # the usage period closes now
        _apply(uow, subscription, ended, now)
        pending = await pending_items(uow, tenant_id, subscription.id)
        period = spanning([usage_window, pending_period(pending) if pending else None])
        if period is not None:  # one final invoice: the usage so far, then the pending items
            await issue_invoice(
                uow,
                tenant_id,
                customer_id=subscription.customer_id,
                subscription_id=subscription.id,
                reason=BillingReason.SUBSCRIPTION_UPDATE,
                currency=plan.currency,
                period=period,
                lines=usage,
                now=now,
                pending=pending,
            )
        await uow.commit()
    return subscription


async def resume_cancel(uow: UnitOfWork, tenant_id: str, subscription_id: str, clock: Clock) -> Subscription:
    """Undo a pending cancel-at-period-end: the subscription renews as usual again."""
    return await _act(uow, tenant_id, subscription_id, clock, lambda s, _now: rules.resume_cancel(s))


async def pause(uow: UnitOfWork, tenant_id: str, subscription_id: str, clock: Clock) -> Subscription:
    """No invoices while paused; the renewal run skips paused subscriptions."""
    return await _act(uow, tenant_id, subscription_id, clock, lambda s, now: rules.pause(s, now))


async def resume(uow: UnitOfWork, tenant_id: str, subscription_id: str, clock: Clock) -> Subscription:
    """A new period starts at the resume time (the new billing-cycle anchor), with its
    invoice, which credits the unused rest of the paused period and also carries any pending
    prorations. Resumed at the instant its paused period began, it resumes that period."""
    async with uow:
        subscription, now = await locked_subscription(uow, tenant_id, subscription_id, clock)
        rules.require(subscription.status, rules.Action.RESUME)
        repo = uow.repo(tenant_id)
        plan = await repo.get(Plan, subscription.plan_id)
        overdue = await repo.has_overdue(subscription.id, now)
        paused = lifecycle_of(subscription)
        resumed = rules.resume(paused, now, cadence_of(plan), overdue=overdue)
        _apply(uow, subscription, resumed, now)
        if not rules.resumes_in_place(paused, now):
            period = Period(resumed.period_start, resumed.period_end)
            pending = await pending_items(uow, tenant_id, subscription.id)
            billed = billed_of(await repo.billed_items(subscription.id, now, paused.period_end))
            credits = resume_credit(
                plan.amount, plan.id, pending, billed, Period(paused.period_start, paused.period_end), now
            )
            await issue_plan_invoice(
                uow, subscription, plan, period, BillingReason.SUBSCRIPTION_CYCLE, now, pending, credits
            )
        await uow.commit()
    return subscription


async def change_plan(
    uow: UnitOfWork,
    tenant_id: str,
    subscription_id: str,
    clock: Clock,
    *,
    plan_id: str,
    proration: Proration = Proration.CREATE_PRORATIONS,
) -> Subscription:
    """Switch plans now: proration lines invoiced now (always_invoice), on the next renewal
    (create_prorations), or not at all (none: the new price starts next period)."""
    async with uow:
        subscription, now = await locked_subscription(uow, tenant_id, subscription_id, clock)
        rules.require(subscription.status, rules.Action.CHANGE_PLAN)
        repo = uow.repo(tenant_id)
        old = await repo.get(Plan, subscription.plan_id)
        new = await repo.get(Plan, plan_id)
        current = lifecycle_of(subscription)
        billed = billed_of(await repo.billed_items(subscription.id, now, current.period_end))
        pending = [item.amount for item in await repo.pending_items(subscription.id)]
        change = decide_plan_change(current, _terms(old), _terms(new), now, proration, billed, pending)
        # The old plan's usage closes now; billed at once, with the prorations if they are too.
        usage_window, usage = await close_usage(uow, subscription, old, now)
        invoiced = list(change.lines) if proration is Proration.ALWAYS_INVOICE else []
        period = spanning([usage_window, Period(now, subscription.current_period_end) if invoiced else None])
        if period is not None:  # one invoice: the usage so far, then the prorations
            await issue_invoice(
                uow,
                tenant_id,
                customer_id=subscription.customer_id,
                subscription_id=subscription.id,
                reason=BillingReason.SUBSCRIPTION_UPDATE,
                currency=new.currency,
                period=period,
                lines=[*usage, *invoiced],
                now=now,
            )
        for line in change.lines if proration is Proration.CREATE_PRORATIONS else []:
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
        _apply(uow, subscription, change.lifecycle, now)
        subscription.plan_id = new.id
        await uow.commit()
    return subscription
