"""The Idempotency-Key header on authenticated POSTs (see shared.services.idempotency)."""
from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable

from aiohttp import web

from shared import metrics
from shared.db.uow import UnitOfWork
from shared.domain.errors import DomainError
from shared.runtime.keys import CLOCK, SESSIONS, TENANT_ID
from shared.runtime.problems import CONTENT_TYPE, from_domain, problem
from shared.services import idempotency

HEADER = "Idempotency-Key"
# 1-255 visible ASCII characters, spaces allowed inside (HTTP strips them outside); the OpenAPI
# document publishes this same pattern.
KEY_PATTERN = r"^[!-~]([ -~]{0,253}[!-~])?$"
_KEY = re.compile(KEY_PATTERN)
REPLAYED = "Idempotent-Replayed"


def fingerprint(request: web.Request, body: bytes) -> str:
    return hashlib.sha256(b"\n".join([request.method.encode(), request.path.encode(), body])).hexdigest()


async def run_once(request: web.Request, key: str, body: bytes,
                   run: Callable[[], Awaitable[web.Response]]) -> web.Response:
    """Run the operation at most once per key; replay the stored response afterwards.
    Requests that fail validation never reach here, so they claim no key."""
    if not _KEY.fullmatch(key):
        return problem(422, f"{HEADER} must be 1 to 255 visible ASCII characters (inner spaces allowed)",
                       errors=[{"field": HEADER, "message": "invalid key"}])
    tenant_id = request[TENANT_ID]
    uow = lambda: UnitOfWork(request.app[SESSIONS])  # noqa: E731
    try:
        stored = await idempotency.claim(uow(), tenant_id, key, fingerprint(request, body), request.app[CLOCK].now())
    except DomainError as error:
        return from_domain(error)
    if stored is not None:
        metrics.idempotent_replays.add(1)
        content_type = CONTENT_TYPE if stored.status >= 400 else "application/json"
        return web.Response(status=stored.status, text=stored.body, content_type=content_type, headers={REPLAYED: "true"})
    try:
        try:
            response = await run()
        except DomainError as error:  # a business refusal is a result too: replay it
            response = from_domain(error)
    except BaseException:
        await idempotency.release(uow(), tenant_id, key)
        raise
    await idempotency.save(uow(), tenant_id, key, response.status, (response.body or b"").decode())
    return response
