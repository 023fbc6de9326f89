"""The Idempotency-Key header on authenticated POSTs (see shared.services.idempotency_keys)."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Awaitable, Callable
from datetime import datetime

from aiohttp import web
from sqlalchemy.exc import DBAPIError, IntegrityError

from shared import failpoints, metrics
from shared.db.uow import RequestTransaction, UnitOfWork
from shared.domain.errors import DomainError
from shared.runtime.app_state import CLOCK, SESSIONS, TENANT_ID
from shared.runtime.problems import CONTENT_TYPE, from_domain, problem
from shared.services import idempotency_keys

log = logging.getLogger("billing.http")

HEADER = "Idempotency-Key"
# 1-255 visible ASCII characters, spaces allowed inside (HTTP strips them outside); the OpenAPI
# document publishes this same pattern.
KEY_PATTERN = r"^[!-~]([ -~]{0,253}[!-~])?$"
_KEY = re.compile(KEY_PATTERN)
REPLAYED = "Idempotent-Replayed"

# Operations that write outside a UnitOfWork cannot join the request's transaction: the
# renewal engine commits batch by batch on connections of its own, and the request would
# hold its connection while waiting for others. It needs no claim or lease: renewal is
# idempotent by construction (a period is invoiced only under its subscription's row lock,
# and a unique index allows one cycle invoice per period), so an attempt that died, or a
# concurrent duplicate, runs it again and bills nothing twice. A stored response is
# replayed; the first one stored wins. (A test-clock advance is one short UnitOfWork whose
# work runs in the background, so it joins like any other operation.)
OWN_TRANSACTIONS = frozenset({"create-renewal"})

# The key row's foreign key share-locks its tenant row from the start of the transaction,
# before the operation locks its subscription; a renewal batch locks subscriptions, then
# the tenant. When PostgreSQL breaks that deadlock by aborting the request, nothing has
# committed, so the request simply runs again (the renewal retries its batch likewise).
_RETRIED_STATES = ("40P01", "40001")  # deadlock detected, serialization failure
ATTEMPTS = 3


def fingerprint(request: web.Request, body: bytes) -> str:
    return hashlib.sha256(b"\n".join([request.method.encode(), request.path.encode(), body])).hexdigest()


def _replay(stored: idempotency_keys.StoredResponse) -> web.Response:
    metrics.idempotent_replays.add(1)
    content_type = CONTENT_TYPE if stored.status >= 400 else "application/json"
    return web.Response(status=stored.status, text=stored.body, content_type=content_type, headers={REPLAYED: "true"})


async def _outcome(run: Callable[[], Awaitable[web.Response]]) -> web.Response:
    try:
        return await run()
    except DomainError as error:  # a business refusal is a result too (it wrote nothing): replay it
        return from_domain(error)


async def run_once(
    request: web.Request, operation: str, key: str, body: bytes, run: Callable[[], Awaitable[web.Response]]
) -> web.Response:
    """Run the operation at most once per key; replay the stored response afterwards.
    Requests that fail validation never reach here, so they claim no key."""
    if not _KEY.fullmatch(key):
        return problem(
            422,
            f"{HEADER} must be 1 to 255 visible ASCII characters (inner spaces allowed)",
            errors=[{"field": HEADER, "message": "invalid key"}],
        )
    tenant_id, now, print_ = request[TENANT_ID], request.app[CLOCK].now(), fingerprint(request, body)
    if operation in OWN_TRANSACTIONS:
        return await _run_alone(request, tenant_id, key, print_, run)
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return await _run_in_transaction(request, tenant_id, key, print_, now, run)
        except DBAPIError as error:
            if getattr(error.orig, "sqlstate", None) not in _RETRIED_STATES or attempt == ATTEMPTS:
                raise
            log.warning(
                "keyed request rolled back by %s; running it again (attempt %d)",
                getattr(error.orig, "sqlstate", None),
                attempt + 1,
            )
    raise AssertionError("unreachable")


async def _run_in_transaction(
    request: web.Request,
    tenant_id: str,
    key: str,
    print_: str,
    now: datetime,
    run: Callable[[], Awaitable[web.Response]],
) -> web.Response:
    """One attempt: claim the key, run, store the response, commit, all as one transaction."""
    try:
        async with RequestTransaction(request.app[SESSIONS]) as tx:
            stored = await idempotency_keys.claim(tx, tenant_id, key, print_, now)
            if stored is not None:
                return _replay(stored)
            response = await _outcome(run)
            await idempotency_keys.finish(tx, tenant_id, key, response.status, (response.body or b"").decode())
            try:
                await tx.commit()
            except IntegrityError:
                raise  # refused by the database: nothing committed, a server error as ever
            except (DBAPIError, OSError):
                # The connection died during COMMIT: only the database knows whether the work
                # (and its key, with it) committed. The retry finds out: replay, or a fresh run.
                log.warning("commit outcome unknown for an Idempotency-Key request", exc_info=True)
                return problem(
                    503,
                    "the database connection was lost while committing, so the outcome is "
                    f"unknown; retry with the same {HEADER}: it replays the response if the "
                    "request took effect, or runs it if it did not",
                )
    except DomainError as error:  # the key itself: used for another request, or still in flight
        return from_domain(error)
    failpoints.hit(failpoints.COMMITTED)
    return response


async def _run_alone(
    request: web.Request, tenant_id: str, key: str, print_: str, run: Callable[[], Awaitable[web.Response]]
) -> web.Response:
    """For OWN_TRANSACTIONS: replay a stored response, else run and store it."""
    uow = lambda: UnitOfWork(request.app[SESSIONS])  # noqa: E731
    try:
        stored = await idempotency_keys.stored(uow(), tenant_id, key, print_, request.app[CLOCK].now())
    except DomainError as error:
        return from_domain(error)
    if stored is not None:
        return _replay(stored)
    response = await _outcome(run)
    failpoints.hit(failpoints.COMMITTED)
    first = await idempotency_keys.store(
        uow(), tenant_id, key, print_, request.app[CLOCK].now(), response.status, (response.body or b"").decode()
    )
    return response if first is None else _replay(first)
