"""Tenants, their first API key, and the bootstrap key (see shared.services.api_keys)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from shared.clock import Clock
from shared.db.tables import Tenant
from shared.db.uow import UnitOfWork, constraint_of
from shared.domain.errors import Conflict
from shared.domain.ids import new_id
from shared.domain.tenants import tenant_name
from shared.services.api_keys import find_grant, generate_key, hash_key, key_row
from shared.services.tax_rates import checked_rates

DEFAULT_TENANT = "default"


@dataclass(frozen=True)
class NewTenant:
    tenant: Tenant
    api_key: str


async def create_tenant(uow: UnitOfWork, name: str, clock: Clock) -> NewTenant:
    """Create a tenant and its first key. The name is trimmed, must not be empty, and must
    be unique regardless of case (Invalid / Conflict otherwise; nothing is written)."""
    name = tenant_name(name)
    key = generate_key()
    async with uow:
        directory = uow.directory()
        if await directory.tenant_named(name) is not None:
            raise Conflict(
                f"a tenant named '{name}' already exists (names are unique regardless of case)", field="name"
            )
        tenant = Tenant(id=new_id("ten"), name=name, created_at=clock.now())
        directory.add(tenant)
        try:
            await uow.flush()
        except IntegrityError as error:  # created at the same moment by someone else
            if constraint_of(error) == "uq_tenants_name":
                raise Conflict(
                    f"a tenant named '{name}' already exists (names are unique regardless of case)", field="name"
                ) from None
            raise
        uow.repo(tenant.id).add(key_row(tenant.id, key, clock.now(), name="first key"))
        await uow.commit()
    return NewTenant(tenant, key)


async def tenant_for_key(uow: UnitOfWork, key: str) -> str | None:
    grant = await find_grant(uow, hash_key(key))
    return None if grant is None else grant.tenant_id


async def ensure_bootstrap_key(uow: UnitOfWork, key: str, clock: Clock) -> str:
    """Make sure the default tenant owns this key, and that it is the only active bootstrap
    key: a new value revokes the previous one. Safe to run from many processes at once
    (every Knative function does it at start): serialised by an advisory lock, and a no-op
    when the key exists. A process still holding the old value (mid-rollout) finds its key
    and changes nothing: it neither revives it nor revokes the new one."""
    async with uow:
        await uow.lock("billing:bootstrap-key")
        directory = uow.directory()
        owner = await directory.key_owner(hash_key(key))
        if owner is not None:
            return owner
        now = clock.now()
        # The tenant of the previous bootstrap key keeps the role; else the oldest 'default'.
        tenant_id = await directory.bootstrap_tenant() or await directory.tenant_named(DEFAULT_TENANT)
        if tenant_id is None:
            tenant = Tenant(id=new_id("ten"), name=DEFAULT_TENANT, created_at=now)
            directory.add(tenant)
            await uow.flush()
            tenant_id = tenant.id
        await directory.revoke_bootstrap_keys(now)
        uow.repo(tenant_id).add(key_row(tenant_id, key, now, name="bootstrap", bootstrap=True))
        await uow.commit()
        return tenant_id


async def get_settings(uow: UnitOfWork, tenant_id: str) -> Tenant:
    async with uow:
        return await uow.repo(tenant_id).get_tenant()


async def update_settings(
    uow: UnitOfWork,
    tenant_id: str,
    *,
    days_until_due: int | None = None,
    grace_period_days: int | None = None,
    default_tax_rates: list[str] | None = None,
) -> Tenant:
    """Billing terms for invoices issued from now on (existing due dates stay). None: unchanged."""
    async with uow:
        tenant = await uow.repo(tenant_id).get_tenant(for_update=True)
        if days_until_due is not None:
            tenant.days_until_due = days_until_due
        if grace_period_days is not None:
            tenant.grace_period_days = grace_period_days
        if default_tax_rates is not None:
            tenant.default_tax_rates = await checked_rates(uow, tenant_id, default_tax_rates)
        await uow.commit()
    return tenant
