"""Customers: who is billed, and (for a customer on a test clock) in whose time."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from shared.clock import Clock
from shared.db import balances
from shared.db.repository import Page
from shared.db.tables import BalanceTransaction, Customer, TestClock
from shared.db.uow import UnitOfWork, driver_conflicts
from shared.domain.ids import new_id
from shared.domain.invoice_totals import BalanceTransactionType
from shared.events import outbox
from shared.services.customer_time import now_for
from shared.services.tax_rates import checked_rates


async def _with_balances(uow: UnitOfWork, tenant_id: str, customers: list[Customer]) -> None:
    found = await uow.repo(tenant_id).balances([c.id for c in customers])
    for customer in customers:
        customer.show_balances(found.get(customer.id, {}))


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
    tax_exempt: str = "none",
    default_tax_rates: Sequence[str] = (),
) -> Customer:
    async with uow:
        rates = await checked_rates(uow, tenant_id, default_tax_rates)
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
            tax_exempt=tax_exempt,
            default_tax_rates=rates,
            created_at=now,
            updated_at=now,
        )
        uow.repo(tenant_id).add(customer)
        outbox.record(uow, "customer.created", customer, now)
        await uow.commit()
    return customer


async def get_customer(uow: UnitOfWork, tenant_id: str, customer_id: str) -> Customer:
    async with uow:
        customer = await uow.repo(tenant_id).get(Customer, customer_id)
        await _with_balances(uow, tenant_id, [customer])
        return customer


async def list_customers(
    uow: UnitOfWork, tenant_id: str, *, limit: int, starting_after: str | None = None
) -> Page[Customer]:
    async with uow:
        page = await uow.repo(tenant_id).page(Customer, limit=limit, starting_after=starting_after)
        await _with_balances(uow, tenant_id, list(page.data))
        return page


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
    tax_exempt: str | None = None,
    default_tax_rates: Sequence[str] | None = None,
) -> Customer:
    """Only the fields given change. In metadata, a key set to "" is removed. Tax settings
    apply to invoices issued from now on."""
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
        if tax_exempt is not None:
            customer.tax_exempt = tax_exempt
        if default_tax_rates is not None:
            customer.default_tax_rates = await checked_rates(uow, tenant_id, default_tax_rates)
        customer.updated_at = await now_for(uow, tenant_id, customer.test_clock_id, clock)
        outbox.record(uow, "customer.updated", customer, customer.updated_at, before=before)
        await _with_balances(uow, tenant_id, [customer])
        await uow.commit()
    return customer


async def adjust_balance(
    uow: UnitOfWork,
    tenant_id: str,
    customer_id: str,
    clock: Clock,
    *,
    amount: int,
    currency: str,
    description: str | None,
) -> BalanceTransaction:
    """A manual adjustment of the customer's balance (negative: credit), appended to its
    ledger; the next invoice in `currency` applies it."""
    async with uow:
        customer = await uow.repo(tenant_id).get(Customer, customer_id)
        entry = balances.Entry(
            tenant_id,
            new_id("cbtxn"),
            customer.id,
            amount,
            currency,
            BalanceTransactionType.ADJUSTMENT,
            None,
            description,
            await now_for(uow, tenant_id, customer.test_clock_id, clock),
        )
        with driver_conflicts():
            await balances.append(await uow.driver_connection(), [entry])
        transaction = outbox.record_ledger_entry(uow, entry, test_clock_id=customer.test_clock_id)
        await uow.commit()
    return transaction


async def list_balance_transactions(
    uow: UnitOfWork, tenant_id: str, customer_id: str, *, limit: int, starting_after: str | None = None
) -> Page[BalanceTransaction]:
    """The customer's ledger, newest first."""
    async with uow:
        repo = uow.repo(tenant_id)
        await repo.get(Customer, customer_id)
        return await repo.page(BalanceTransaction, limit=limit, starting_after=starting_after, customer_id=customer_id)
