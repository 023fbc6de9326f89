"""Idempotency keys: a retried POST gets the first attempt's response, never a second effect.

Transactional: the key row is inserted first in the request's one transaction (see
shared.db.uow.RequestTransaction), the operation's writes join that transaction, and the
rendered response is written to the key row before the single commit. So a key is stored
exactly when the work is, with its response:

- dead before the commit (crash, lost connection): no key, no work; the retry runs afresh;
- committed: the response is stored; every retry replays it, even if the answer was lost;
- a concurrent duplicate blocks on the uncommitted key row until the first attempt commits
  (it replays) or rolls back (it runs); a wait longer than CLAIM_WAIT is 409 "in progress".

Nothing waits for an expiry: an attempt's claim dies with its transaction. Keys live
24 hours, like Stripe's; an expired key starts a new life.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import DBAPIError

from shared.db.tables import IdempotencyKey
from shared.db.uow import RequestTransaction, UnitOfWork
from shared.domain.errors import Conflict, Invalid

TTL = timedelta(hours=24)
CLAIM_WAIT = timedelta(seconds=10)  # how long a duplicate waits for the attempt in flight
_LOCK_NOT_AVAILABLE = "55P03"


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: str


def _mismatch() -> Invalid:
    return Invalid(
        "this Idempotency-Key was used with a different request (method, path or body)", field="Idempotency-Key"
    )


def _in_progress() -> Conflict:
    return Conflict("a request with this Idempotency-Key is still in progress; retry later", field="Idempotency-Key")


def _replay(row: IdempotencyKey, fingerprint: str) -> StoredResponse:
    if row.fingerprint != fingerprint:
        raise _mismatch()
    if row.state != "done":
        # Only a process of an earlier release commits an `in_progress` key: whether its
        # work committed is unknowable, so refuse (as that release did) until it expires.
        raise _in_progress()
    return StoredResponse(row.response_status or 0, row.response_body or "")


async def claim(
    tx: RequestTransaction, tenant_id: str, key: str, fingerprint: str, now: datetime
) -> StoredResponse | None:
    """Take `key` in the request's transaction, before the operation writes anything.
    Returns None to go ahead, or the stored response to replay. Raises Invalid (another
    request used the key) or Conflict (an attempt with this key is still running)."""
    repo = tx.repo(tenant_id)
    wait_ms = max(1, int(CLAIM_WAIT.total_seconds() * 1000))
    try:
        # Bounded: only the key's row lock; the operation's own locks wait as they always did.
        await repo.bound_lock_waits(wait_ms)
        inserted = await repo.insert_idempotency_key(key, fingerprint, now)
        row = None
        if not inserted:
            row = await repo.idempotency_key(key, for_update=True)
            if row is None:  # it conflicted, so it exists: keys are never deleted
                raise LookupError(f"idempotency key '{key}' vanished")
        await repo.bound_lock_waits(None)
    except DBAPIError as error:
        if getattr(error.orig, "sqlstate", None) == _LOCK_NOT_AVAILABLE:
            raise _in_progress() from error
        raise
    if row is None:
        return None
    if row.created_at <= now - TTL:  # expired: the key starts a new life in this transaction
        row.fingerprint, row.state, row.created_at = fingerprint, "in_progress", now
        row.response_status = row.response_body = None
        await repo.flush()
        return None
    return _replay(row, fingerprint)


async def finish(tx: RequestTransaction, tenant_id: str, key: str, status: int, body: str) -> None:
    """Store the response on the claimed key, in the transaction that commits the work."""
    await tx.repo(tenant_id).finish_idempotency_key(key, status, body)


# Operations that commit on their own connections (the renewal engine) cannot join the
# request's transaction; they look the key up first and store their response after.


async def stored(uow: UnitOfWork, tenant_id: str, key: str, fingerprint: str, now: datetime) -> StoredResponse | None:
    """The live response stored for `key`, if any (read-only)."""
    async with uow:
        row = await uow.repo(tenant_id).idempotency_key(key)
        if row is None or row.created_at <= now - TTL:
            return None
        return _replay(row, fingerprint)


async def store(
    uow: UnitOfWork, tenant_id: str, key: str, fingerprint: str, now: datetime, status: int, body: str
) -> StoredResponse | None:
    """Store a response for `key` unless a live one is there already: the first stored
    wins. Returns the one to answer with instead of ours, if any."""
    async with uow:
        repo = uow.repo(tenant_id)
        if await repo.store_idempotency_key(key, fingerprint, now, now - TTL, status, body):
            await uow.commit()
            return None
        row = await repo.idempotency_key(key)
        if row is None or row.fingerprint != fingerprint or row.state != "done":
            return None  # another request's key: ours is the answer to this one
        return StoredResponse(row.response_status or 0, row.response_body or "")
