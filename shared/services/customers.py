from __future__ import annotations

from shared.clock import Clock
from shared.db.repository import Page
from shared.db.tables import Customer, TestClock
from shared.db.uow import UnitOfWork
from shared.domain.ids import new_id
from shared.services.customer_time import now_for
from shared.schemas.common import ListQuery
from shared.schemas.customers import CustomerCreate, CustomerUpdate


async def create_customer(uow: UnitOfWork, tenant_id: str, cmd: CustomerCreate, clock: Clock) -> Customer:
    async with uow:
        now = clock.now()
        if cmd.test_clock is not None:
            now = (await uow.repo(tenant_id).get(TestClock, cmd.test_clock)).frozen_time
        customer = Customer(
            tenant_id=tenant_id,
            id=new_id("cus"),
            email=cmd.email,
            name=cmd.name,
            metadata_=dict(cmd.metadata),
            test_clock_id=cmd.test_clock,
            created_at=now,
            updated_at=now,
        )
        uow.repo(tenant_id).add(customer)
        await uow.commit()
    return customer


async def get_customer(uow: UnitOfWork, tenant_id: str, customer_id: str) -> Customer:
    async with uow:
        return await uow.repo(tenant_id).get(Customer, customer_id)


async def list_customers(uow: UnitOfWork, tenant_id: str, query: ListQuery) -> Page[Customer]:
    async with uow:
        return await uow.repo(tenant_id).page(Customer, limit=query.limit, starting_after=query.starting_after)


async def update_customer(
    uow: UnitOfWork, tenant_id: str, customer_id: str, cmd: CustomerUpdate, clock: Clock
) -> Customer:
    async with uow:
        customer = await uow.repo(tenant_id).get(Customer, customer_id, for_update=True)
        if cmd.email is not None:
            customer.email = cmd.email
        if cmd.name is not None:
            customer.name = cmd.name
        if cmd.metadata is not None:
            merged = {**customer.metadata_, **cmd.metadata}
            customer.metadata_ = {k: v for k, v in merged.items() if v != ""}
        customer.updated_at = await now_for(uow, tenant_id, customer.test_clock_id, clock)
        await uow.commit()
    return customer
