"""Meters: what usage events of one kind add up to. Created, read, listed, archived."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.clock import Clock
from shared.db.repository import Page
from shared.db.tables import Meter
from shared.db.uow import UnitOfWork
from shared.domain.ids import new_id
from shared.events import outbox


async def create_meter(
    uow: UnitOfWork,
    tenant_id: str,
    clock: Clock,
    *,
    code: str,
    name: str,
    aggregation: str,
    value_property: str | None,
    filters: Mapping[str, Any],
) -> Meter:
    async with uow:
        meter = Meter(
            tenant_id=tenant_id,
            id=new_id("mtr"),
            code=code,
            name=name,
            aggregation=aggregation,
            value_property=value_property,
            filters=dict(filters),
            active=True,
            created_at=clock.now(),
        )
        uow.repo(tenant_id).add(meter)
        outbox.record(uow, "meter.created", meter, meter.created_at)
        await uow.commit()
    return meter


async def get_meter(uow: UnitOfWork, tenant_id: str, meter_id: str) -> Meter:
    async with uow:
        return await uow.repo(tenant_id).get(Meter, meter_id)


async def list_meters(
    uow: UnitOfWork, tenant_id: str, *, limit: int, starting_after: str | None = None, active: bool | None = None
) -> Page[Meter]:
    async with uow:
        return await uow.repo(tenant_id).page(Meter, limit=limit, starting_after=starting_after, active=active)


async def archive_meter(uow: UnitOfWork, tenant_id: str, meter_id: str, clock: Clock) -> Meter:
    """An archived meter takes no new events; usage already recorded is still billed. Idempotent."""
    async with uow:
        meter = await uow.repo(tenant_id).get(Meter, meter_id, for_update=True)
        if meter.active:
            meter.active = False
            meter.archived_at = clock.now()
            outbox.record(uow, "meter.archived", meter, meter.archived_at)
        await uow.commit()
    return meter
