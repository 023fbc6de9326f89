"""Tax rates, and checking the default_tax_rates other objects name."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from shared.clock import Clock
from shared.db.repository import Page
from shared.db.tables import TaxRate
from shared.db.uow import UnitOfWork
from shared.domain.errors import Conflict, Invalid, NotFound
from shared.domain.ids import new_id
from shared.domain.money import percent_units
from shared.events import outbox


async def create_tax_rate(
    uow: UnitOfWork,
    tenant_id: str,
    clock: Clock,
    *,
    display_name: str,
    percentage: Decimal,
    inclusive: bool,
    jurisdiction: str | None = None,
    country: str | None = None,
    description: str | None = None,
    active: bool = True,
) -> TaxRate:
    percent_units(percentage)  # at most 4 decimals
    async with uow:
        rate = TaxRate(
            tenant_id=tenant_id,
            id=new_id("txr"),
            display_name=display_name,
            percentage=percentage,
            inclusive=inclusive,
            jurisdiction=jurisdiction,
            country=country,
            description=description,
            active=active,
            created_at=clock.now(),
        )
        uow.repo(tenant_id).add(rate)
        outbox.record(uow, "tax_rate.created", rate, rate.created_at)
        await uow.commit()
    return rate


async def get_tax_rate(uow: UnitOfWork, tenant_id: str, tax_rate_id: str) -> TaxRate:
    async with uow:
        return await uow.repo(tenant_id).get(TaxRate, tax_rate_id)


async def list_tax_rates(
    uow: UnitOfWork, tenant_id: str, *, limit: int, starting_after: str | None = None, active: bool | None = None
) -> Page[TaxRate]:
    async with uow:
        return await uow.repo(tenant_id).page(TaxRate, limit=limit, starting_after=starting_after, active=active)


async def update_tax_rate(uow: UnitOfWork, tenant_id: str, tax_rate_id: str, clock: Clock, **fields: object) -> TaxRate:
    """Only the display fields and `active` change (None: unchanged). tax_rate.updated when
    something did."""
    async with uow:
        rate = await uow.repo(tenant_id).get(TaxRate, tax_rate_id, for_update=True)
        before = outbox.snapshot(rate)
        for name, value in fields.items():
            if value is not None:
                setattr(rate, name, value)
        if outbox.changed(before, rate):
            outbox.record(uow, "tax_rate.updated", rate, clock.now(), before=before)
        await uow.commit()
    return rate


async def checked_rates(
    uow: UnitOfWork, tenant_id: str, ids: Sequence[str], field: str = "default_tax_rates"
) -> list[str]:
    """`ids` if each is an active tax rate of the tenant, listed once (Invalid for a
    duplicate, NotFound for an unknown id, Conflict for an archived rate). Inside the
    caller's unit of work."""
    if len(set(ids)) != len(ids):
        raise Invalid("a tax rate is listed twice", field=field)
    found = await uow.repo(tenant_id).tax_rates(ids)
    return check_rates(ids, {i: r.active for i, r in found.items()}, field)


def check_rates(ids: Sequence[str], active: Mapping[str, bool], field: str = "default_tax_rates") -> list[str]:
    """`ids` if each is listed once and is one of `active` (the tenant's rates found, by id:
    whether active); else the error `checked_rates` names."""
    if len(set(ids)) != len(ids):
        raise Invalid("a tax rate is listed twice", field=field)
    for rate_id in ids:
        found = active.get(rate_id)
        if found is None:
            raise NotFound(f"no such tax rate: '{rate_id}'", field=field)
        if not found:
            raise Conflict(f"tax rate '{rate_id}' is archived (inactive)", field=field)
    return list(ids)
