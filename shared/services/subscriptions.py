from __future__ import annotations

from shared.clock import Clock
from shared.db.repository import Page
from shared.db.tables import Customer, Plan, Subscription
from shared.db.uow import UnitOfWork
from shared.domain import subscriptions as rules
from shared.domain.errors import Conflict
from shared.domain.ids import new_id
from shared.domain.invoices import BillingReason, LineDraft
from shared.domain.periods import Cadence, Interval
from shared.schemas.subscriptions import SubscriptionCreate, SubscriptionListQuery
from shared.services.invoicing import issue_invoice


def cadence_of(plan: Plan) -> Cadence:
    return Cadence(Interval(plan.interval), plan.interval_count)


def plan_line(plan: Plan, period_start, period_end) -> LineDraft:  # type: ignore[no-untyped-def]
    return LineDraft(
        description=f"{plan.name} ({plan.code})",
        amount=plan.amount,
        period_start=period_start,
        period_end=period_end,
        plan_id=plan.id,
    )


async def create_subscription(
    uow: UnitOfWork, tenant_id: str, cmd: SubscriptionCreate, clock: Clock
) -> Subscription:
    """Start a subscription and, unless it is trialing, issue its first invoice in the
    same transaction: either both exist or neither does."""
    async with uow:
        repo = uow.repo(tenant_id)
        customer = await repo.get(Customer, cmd.customer_id)
        plan = await repo.get(Plan, cmd.plan_id)
        if not plan.active:
            raise Conflict(f"plan '{plan.id}' is archived and takes no new subscriptions", field="plan_id")
        now = clock.now()
        trial_days = plan.trial_period_days if cmd.trial_period_days is None else cmd.trial_period_days
        start = rules.start(now, cadence_of(plan), trial_days)
        subscription = Subscription(
            tenant_id=tenant_id,
            id=new_id("sub"),
            customer_id=customer.id,
            plan_id=plan.id,
            status=start.status,
            billing_cycle_anchor=start.anchor,
            cycle=0,
            current_period_start=start.period.start,
            current_period_end=start.period.end,
            trial_end=start.trial_end,
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
                lines=[plan_line(plan, start.period.start, start.period.end)],
                now=now,
            )
        await uow.commit()
    return subscription


async def get_subscription(uow: UnitOfWork, tenant_id: str, subscription_id: str) -> Subscription:
    async with uow:
        return await uow.repo(tenant_id).get(Subscription, subscription_id)


async def list_subscriptions(uow: UnitOfWork, tenant_id: str, query: SubscriptionListQuery) -> Page[Subscription]:
    async with uow:
        return await uow.repo(tenant_id).page(
            Subscription,
            limit=query.limit,
            starting_after=query.starting_after,
            customer_id=query.customer_id,
            status=query.status,
        )
