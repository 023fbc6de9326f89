"""Events: read and list (tenant-scoped). Written only by shared.db.event_writer."""

from __future__ import annotations

from datetime import datetime

from shared.db.repository import Page
from shared.db.tables import Event
from shared.db.uow import UnitOfWork


async def get_event(uow: UnitOfWork, tenant_id: str, event_id: str) -> Event:
    async with uow:
        return await uow.repo(tenant_id).get(Event, event_id)


async def list_events(
    uow: UnitOfWork,
    tenant_id: str,
    *,
    limit: int,
    starting_after: str | None = None,
    type_pattern: str | None = None,
    created_gte: datetime | None = None,
    created_lt: datetime | None = None,
    object_id: str | None = None,
) -> Page[Event]:
    async with uow:
        return await uow.repo(tenant_id).events_page(
            limit=limit,
            starting_after=starting_after,
            type_pattern=type_pattern,
            created_gte=created_gte,
            created_lt=created_lt,
            object_id=object_id,
        )
