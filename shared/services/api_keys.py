"""API keys: issue, list, revoke, and find the active key behind a presented secret.

Keys are 256 random bits, shown once, stored as a SHA-256 hash (a slow hash buys nothing
for random keys, and a lookup stays one index probe)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from shared.clock import Clock
from shared.db.repository import Page
from shared.db.tables import ApiKey
from shared.db.uow import UnitOfWork
from shared.domain.api_keys import Grant, hash_key
from shared.domain.errors import Invalid, NotFound
from shared.domain.ids import new_id

KEY_PREFIX = "sk_"
SHOWN_PREFIX = len(KEY_PREFIX) + 4  # enough to tell keys apart, far too little to guess one


def generate_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def key_row(
    tenant_id: str,
    key: str,
    now: datetime,
    *,
    name: str | None = None,
    scope: str = "write",
    expires_at: datetime | None = None,
    bootstrap: bool = False,
) -> ApiKey:
    return ApiKey(
        tenant_id=tenant_id,
        id=new_id("key"),
        key_hash=hash_key(key),
        prefix=key[:SHOWN_PREFIX],
        name=name,
        scope=scope,
        bootstrap=bootstrap,
        created_at=now,
        expires_at=expires_at,
    )


@dataclass(frozen=True)
class IssuedKey:
    row: ApiKey
    secret: str


async def find_grant(uow: UnitOfWork, key_hash: str) -> Grant | None:
    """The active key with this hash (expired ones included: the caller knows the time)."""
    async with uow.reading():
        return await uow.directory().grant(key_hash)


async def create_api_key(
    uow: UnitOfWork,
    tenant_id: str,
    clock: Clock,
    *,
    name: str | None = None,
    scope: str = "write",
    expires_at: datetime | None = None,
) -> IssuedKey:
    now = clock.now()
    if expires_at is not None and expires_at <= now:
        raise Invalid("expires_at must be in the future", field="expires_at")
    secret = generate_key()
    async with uow:
        repo = uow.repo(tenant_id)
        if not await repo.tenant_exists():  # only the CLI can name a tenant
            raise NotFound(f"no such tenant: '{tenant_id}'", field="tenant")
        row = key_row(tenant_id, secret, now, name=name, scope=scope, expires_at=expires_at)
        repo.add(row)
        await uow.commit()
    return IssuedKey(row, secret)


async def get_api_key(uow: UnitOfWork, tenant_id: str, key_id: str) -> ApiKey:
    async with uow:
        return await _get(uow, tenant_id, key_id)


async def list_api_keys(
    uow: UnitOfWork, tenant_id: str, *, limit: int, starting_after: str | None = None
) -> Page[ApiKey]:
    async with uow:
        return await uow.repo(tenant_id).page(ApiKey, limit=limit, starting_after=starting_after)


async def revoke_api_key(uow: UnitOfWork, tenant_id: str, key_id: str, clock: Clock) -> ApiKey:
    """Revoke for good. Revoking a revoked key changes nothing and answers the same key
    (DELETE is idempotent), with the time of the first revocation."""
    async with uow:
        row = await _get(uow, tenant_id, key_id, for_update=True)
        if row.revoked_at is None:
            row.revoked_at = clock.now()
            await uow.commit()
    return row


async def _get(uow: UnitOfWork, tenant_id: str, key_id: str, *, for_update: bool = False) -> ApiKey:
    try:
        return await uow.repo(tenant_id).get(ApiKey, key_id, for_update=for_update)
    except NotFound:
        raise NotFound(f"no such API key: '{key_id}'", field="id") from None
