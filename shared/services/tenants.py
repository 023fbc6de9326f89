"""Tenants and their API keys. Keys are random (256 bits), shown once, stored as a hash."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select

from shared.clock import Clock
from shared.db.tables import ApiKey, Tenant
from shared.db.uow import UnitOfWork
from shared.domain.ids import new_id
from shared.schemas.renewals import SettingsUpdate

KEY_PREFIX = "sk_"
DEFAULT_TENANT = "default"


def hash_key(key: str) -> str:
    # A plain SHA-256 is right for high-entropy random keys: nothing to brute-force,
    # and lookups stay one index probe.
    return hashlib.sha256(key.encode()).hexdigest()


def generate_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class NewTenant:
    tenant: Tenant
    api_key: str


def _key_row(tenant_id: str, key: str, clock: Clock) -> ApiKey:
    return ApiKey(
        tenant_id=tenant_id,
        id=new_id("key"),
        key_hash=hash_key(key),
        prefix=key[: len(KEY_PREFIX) + 4],
        created_at=clock.now(),
    )


async def create_tenant(uow: UnitOfWork, name: str, clock: Clock) -> NewTenant:
    key = generate_key()
    async with uow:
        tenant = Tenant(id=new_id("ten"), name=name, created_at=clock.now())
        uow.session.add(tenant)
        await uow.flush()
        uow.session.add(_key_row(tenant.id, key, clock))
        await uow.commit()
    return NewTenant(tenant, key)


async def tenant_for_key(uow: UnitOfWork, key: str) -> str | None:
    async with uow:
        stmt = select(ApiKey.tenant_id).where(ApiKey.key_hash == hash_key(key), ApiKey.revoked_at.is_(None))
        return (await uow.session.execute(stmt)).scalar_one_or_none()


async def ensure_bootstrap_key(uow: UnitOfWork, key: str, clock: Clock) -> str:
    """Make sure a tenant named 'default' owns exactly this key. Safe to run from many
    processes at once (every Knative function does it at start): serialised by an
    advisory lock, and a no-op when the key exists."""
    async with uow:
        await uow.lock("billing:bootstrap-key")
        owner = (
            await uow.session.execute(select(ApiKey.tenant_id).where(ApiKey.key_hash == hash_key(key)))
        ).scalar_one_or_none()
        if owner is not None:
            return owner
        tenant = (
            await uow.session.execute(
                select(Tenant).where(Tenant.name == DEFAULT_TENANT).order_by(Tenant.id).limit(1)
            )
        ).scalar_one_or_none()
        if tenant is None:
            tenant = Tenant(id=new_id("ten"), name=DEFAULT_TENANT, created_at=clock.now())
            uow.session.add(tenant)
            await uow.flush()
        uow.session.add(_key_row(tenant.id, key, clock))
        await uow.commit()
        return tenant.id


async def get_settings(uow: UnitOfWork, tenant_id: str) -> Tenant:
    async with uow:
        return await uow.repo(tenant_id).get_tenant()


async def update_settings(uow: UnitOfWork, tenant_id: str, cmd: SettingsUpdate) -> Tenant:
    """Billing terms for invoices issued from now on (existing due dates stay)."""
    async with uow:
        tenant = await uow.repo(tenant_id).get_tenant(for_update=True)
        if cmd.days_until_due is not None:
            tenant.days_until_due = cmd.days_until_due
        if cmd.grace_period_days is not None:
            tenant.grace_period_days = cmd.grace_period_days
        await uow.commit()
    return tenant
