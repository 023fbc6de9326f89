"""Idempotency keys: a retried POST gets the first attempt's response, never a second effect.

The key is claimed in its own short transaction before the operation runs, and the
response stored after. If the process dies between the operation's commit and the save,
the key stays `in_progress`: retries get 409 rather than a second execution (no double
billing), until the key expires. Keys live 24 hours, like Stripe's.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert

from shared.db.tables import IdempotencyKey
from shared.db.uow import UnitOfWork
from shared.domain.errors import Conflict, Invalid

TTL = timedelta(hours=24)


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: str


async def _locked(uow: UnitOfWork, tenant_id: str, key: str) -> IdempotencyKey:
    stmt = select(IdempotencyKey).where(IdempotencyKey.tenant_id == tenant_id, IdempotencyKey.key == key)
    return (await uow.session.execute(stmt.with_for_update())).scalar_one()


async def claim(uow: UnitOfWork, tenant_id: str, key: str, fingerprint: str, now: datetime) -> StoredResponse | None:
    """Take `key` for this request. Returns None to go ahead, or the response to replay."""
    async with uow:
        inserted = await uow.session.execute(
            insert(IdempotencyKey)
            .values(tenant_id=tenant_id, key=key, fingerprint=fingerprint, state="in_progress", created_at=now)
            .on_conflict_do_nothing()
            .returning(IdempotencyKey.key)
        )
        if inserted.first() is not None:
            await uow.commit()
            return None
        row = await _locked(uow, tenant_id, key)
        if row.created_at <= now - TTL:  # expired: the key starts a new life
            row.fingerprint, row.state, row.created_at = fingerprint, "in_progress", now
            row.response_status = row.response_body = None
            await uow.commit()
            return None
        if row.fingerprint != fingerprint:
            raise Invalid("this Idempotency-Key was used with a different request (method, path or body)",
                          field="Idempotency-Key")
        if row.state != "done":
            raise Conflict("a request with this Idempotency-Key is still in progress; retry later", field="Idempotency-Key")
        return StoredResponse(row.response_status or 0, row.response_body or "")


async def save(uow: UnitOfWork, tenant_id: str, key: str, status: int, body: str) -> None:
    async with uow:
        row = await _locked(uow, tenant_id, key)
        row.state, row.response_status, row.response_body = "done", status, body
        await uow.commit()


async def release(uow: UnitOfWork, tenant_id: str, key: str) -> None:
    """Forget a claim whose request failed without effect, so the client may retry."""
    async with uow:
        await uow.session.execute(
            delete(IdempotencyKey).where(IdempotencyKey.tenant_id == tenant_id, IdempotencyKey.key == key,
                                         IdempotencyKey.state == "in_progress")
        )
        await uow.commit()
