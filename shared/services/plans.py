"""Plans: what a subscription costs and how often it renews."""

from __future__ import annotations

from collections.abc import Sequence

from shared.clock import Clock
from shared.db.repository import Page
from shared.db.tables import Plan
from shared.db.uow import UnitOfWork
from shared.domain.ids import new_id
from shared.services.tax_rates import checked_rates


async def create_plan(
    uow: UnitOfWork,
    tenant_id: str,
    clock: Clock,
    *,
    code: str,
    name: str,
    amount: int,
    currency: str,
    interval: str,
    interval_count: int,
    trial_period_days: int,
    default_tax_rates: Sequence[str] = (),
) -> Plan:
    """`amount` in the currency's minor units."""
    async with uow:
        rates = await checked_rates(uow, tenant_id, default_tax_rates)
        plan = Plan(
            tenant_id=tenant_id,
            id=new_id("plan"),
            code=code,
            name=name,
            amount=amount,
            currency=currency,
            interval=interval,
            interval_count=interval_count,
            trial_period_days=trial_period_days,
            active=True,
            default_tax_rates=rates,
            created_at=clock.now(),
        )
        uow.repo(tenant_id).add(plan)
        await uow.commit()
    return plan


async def get_plan(uow: UnitOfWork, tenant_id: str, plan_id: str) -> Plan:
    async with uow:
        return await uow.repo(tenant_id).get(Plan, plan_id)


async def list_plans(
    uow: UnitOfWork, tenant_id: str, *, limit: int, starting_after: str | None = None, active: bool | None = None
) -> Page[Plan]:
    async with uow:
        return await uow.repo(tenant_id).page(Plan, limit=limit, starting_after=starting_after, active=active)


async def archive_plan(uow: UnitOfWork, tenant_id: str, plan_id: str, clock: Clock) -> Plan:
    """Archived plans take no new subscriptions; existing ones keep billing. Idempotent."""
    async with uow:
        plan = await uow.repo(tenant_id).get(Plan, plan_id, for_update=True)
        if plan.active:
            plan.active = False
            plan.archived_at = clock.now()
        await uow.commit()
    return plan
