"""Customers: who is billed, and (for a customer on a test clock) in whose time."""

from __future__ import annotations

from collections.abc import Mapping

from shared.clock import Clock
from shared.db.repository import Page
from shared.db.tables import Customer, TestClock
from shared.db.uow import UnitOfWork
from shared.domain.ids import new_id
from shared.events import outbox
from shared.services.customer_time import now_for


async def create_customer(
    uow: UnitOfWork,
    tenant_id: str,
    clock: Clock,
    *,
    email: str,
    name: str,
    metadata: Mapping[str, str],
    test_clock_id: str | None = None,
    external_id: str | None = None,
) -> Customer:
    async with uow:
        now = clock.now()
        if test_clock_id is not None:
            now = (await uow.repo(tenant_id).get(TestClock, test_clock_id)).frozen_time
        customer = Customer(
            tenant_id=tenant_id,
            id=new_id("cus"),
            email=email,
            name=name,
            metadata_=dict(metadata),
            test_clock_id=test_clock_id,
            external_id=external_id,
            created_at=now,
            updated_at=now,
        )
        uow.repo(tenant_id).add(customer)
        outbox.record(uow, "customer.created", customer, now)
        await uow.commit()
    return customer


async def get_customer(uow: UnitOfWork, tenant_id: str, customer_id: str) -> Customer:
    async with uow:
        return await uow.repo(tenant_id).get(Customer, customer_id)


async def list_customers(
    uow: UnitOfWork, tenant_id: str, *, limit: int, starting_after: str | None = None
) -> Page[Customer]:
    async with uow:
        return await uow.repo(tenant_id).page(Customer, limit=limit, starting_after=starting_after)


async def update_customer(
    uow: UnitOfWork,
    tenant_id: str,
    customer_id: str,
    clock: Clock,
    *,
    email: str | None = None,
    name: str | None = None,
    metadata: Mapping[str, str] | None = None,
    external_id: str | None = None,
) -> Customer:
    """Only the fields given change. In metadata, a key set to "" is removed."""
    async with uow:
        customer = await uow.repo(tenant_id).get(Customer, customer_id, for_update=True)
        before = outbox.snapshot(customer)
        if email is not None:
            customer.email = email
        if name is not None:
            customer.name = name
        if external_id is not None:
            customer.external_id = external_id
        if metadata is not None:
            merged = {**customer.metadata_, **metadata}
            customer.metadata_ = {k: v for k, v in merged.items() if v != ""}
        customer.updated_at = await now_for(uow, tenant_id, customer.test_clock_id, clock)
        outbox.record(uow, "customer.updated", customer, customer.updated_at, before=before)
        await uow.commit()
    return customer
