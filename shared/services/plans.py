"""Plans: what a subscription costs and how often it renews."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from shared.clock import Clock
from shared.db.repository import Page
from shared.db.tables import Plan
from shared.db.uow import UnitOfWork
from shared.domain.errors import Invalid
from shared.domain.ids import new_id
from shared.domain.usage_pricing import as_json, charges_from
from shared.events import outbox
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
    usage_charges: Sequence[Mapping[str, Any]] = (),
    default_tax_rates: Sequence[str] = (),
) -> Plan:
    """`amount` in the currency's minor units; usage charges priced in them too, for
    meters that exist (shared.domain.usage_pricing validates them)."""
    charges = charges_from(usage_charges)
    async with uow:
        if charges:
            known = {m.code for m in await uow.repo(tenant_id).meters([c.meter for c in charges])}
            unknown = [c.meter for c in charges if c.meter not in known]
            if unknown:
                raise Invalid(f"usage_charges: no such meter(s) {unknown}", field="usage_charges")
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
            usage_charges=[as_json(c) for c in charges],
            active=True,
            default_tax_rates=rates,
            created_at=clock.now(),
        )
        uow.repo(tenant_id).add(plan)
        outbox.record(uow, "plan.created", plan, plan.created_at)
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


async def update_plan(
    uow: UnitOfWork,
    tenant_id: str,
    plan_id: str,
    clock: Clock,
    *,
    name: str | None = None,
    default_tax_rates: Sequence[str] | None = None,
) -> Plan:
    """Only the fields given change (None: unchanged); the tax rates must be the tenant's
    and active. plan.updated when something did. Invoices issued from now on use them."""
    async with uow:
        plan = await uow.repo(tenant_id).get(Plan, plan_id, for_update=True)
        before = outbox.snapshot(plan)
        if name is not None:
            plan.name = name
        if default_tax_rates is not None:
            plan.default_tax_rates = await checked_rates(uow, tenant_id, default_tax_rates)
        if outbox.changed(before, plan):
            outbox.record(uow, "plan.updated", plan, clock.now(), before=before)
        await uow.commit()
    return plan


async def archive_plan(uow: UnitOfWork, tenant_id: str, plan_id: str, clock: Clock) -> Plan:
    """Archived plans take no new subscriptions; existing ones keep billing. Idempotent."""
    async with uow:
        plan = await uow.repo(tenant_id).get(Plan, plan_id, for_update=True)
        if plan.active:
            plan.active = False
            plan.archived_at = clock.now()
            outbox.record(uow, "plan.archived", plan, plan.archived_at)
        await uow.commit()
    return plan
