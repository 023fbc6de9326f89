from __future__ import annotations

from shared.clock import Clock
from shared.db.repository import Page
from shared.db.tables import Plan
from shared.db.uow import UnitOfWork
from shared.domain.ids import new_id
from shared.schemas.plans import PlanCreate, PlanListQuery


async def create_plan(uow: UnitOfWork, tenant_id: str, cmd: PlanCreate, clock: Clock) -> Plan:
    async with uow:
        plan = Plan(
            tenant_id=tenant_id,
            id=new_id("plan"),
            code=cmd.code,
            name=cmd.name,
            amount=cmd.amount,
            currency=cmd.currency,
            interval=cmd.interval,
            interval_count=cmd.interval_count,
            trial_period_days=cmd.trial_period_days,
            active=True,
            created_at=clock.now(),
        )
        uow.repo(tenant_id).add(plan)
        await uow.commit()
    return plan


async def get_plan(uow: UnitOfWork, tenant_id: str, plan_id: str) -> Plan:
    async with uow:
        return await uow.repo(tenant_id).get(Plan, plan_id)


async def list_plans(uow: UnitOfWork, tenant_id: str, query: PlanListQuery) -> Page[Plan]:
    async with uow:
        return await uow.repo(tenant_id).page(
            Plan, limit=query.limit, starting_after=query.starting_after, active=query.active
        )


async def archive_plan(uow: UnitOfWork, tenant_id: str, plan_id: str, clock: Clock) -> Plan:
    """Archived plans take no new subscriptions; existing ones keep billing. Idempotent."""
    async with uow:
        plan = await uow.repo(tenant_id).get(Plan, plan_id, for_update=True)
        if plan.active:
            plan.active = False
            plan.archived_at = clock.now()
        await uow.commit()
    return plan
