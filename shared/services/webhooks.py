"""Webhook endpoints: register (with a signing secret shown once), read, list, update,
delete, rotate the secret; their delivery log, one delivery's retry, and replays."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func

from shared.clock import Clock
from shared.db.repository import Page
from shared.db.tables import WebhookDelivery, WebhookEndpoint
from shared.db.uow import UnitOfWork
from shared.domain.errors import Conflict, NotFound
from shared.domain.ids import new_id
from shared.events import signing, targets

ROTATION_OVERLAP = timedelta(hours=24)  # the old secret keeps signing this long after a rotation
MAX_REPLAY = 10_000  # events one replay call re-queues (call again for the rest)


async def create_endpoint(
    uow: UnitOfWork,
    tenant_id: str,
    clock: Clock,
    *,
    url: str,
    enabled_events: Sequence[str],
    description: str | None,
    allow_private: bool,
) -> WebhookEndpoint:
    await targets.check_url(url, allow_private)  # before the transaction: DNS may take a moment
    async with uow:
        now = clock.now()
        endpoint = WebhookEndpoint(
            tenant_id=tenant_id,
            id=new_id("we"),
            url=url,
            enabled_events=sorted(set(enabled_events)),
            description=description,
            status="enabled",
            secret=signing.new_secret(),
            created_at=now,
            updated_at=now,
        )
        uow.repo(tenant_id).add(endpoint)
        await uow.commit()
    return endpoint


async def get_endpoint(uow: UnitOfWork, tenant_id: str, endpoint_id: str) -> WebhookEndpoint:
    async with uow:
        return await uow.repo(tenant_id).get(WebhookEndpoint, endpoint_id)


async def list_endpoints(
    uow: UnitOfWork, tenant_id: str, *, limit: int, starting_after: str | None = None
) -> Page[WebhookEndpoint]:
    async with uow:
        return await uow.repo(tenant_id).page(WebhookEndpoint, limit=limit, starting_after=starting_after)


async def update_endpoint(
    uow: UnitOfWork,
    tenant_id: str,
    endpoint_id: str,
    clock: Clock,
    *,
    url: str | None,
    enabled_events: Sequence[str] | None,
    description: str | None,
    disabled: bool | None,
    allow_private: bool,
) -> WebhookEndpoint:
    if url is not None:
        await targets.check_url(url, allow_private)
    async with uow:
        repo = uow.repo(tenant_id)
        endpoint = await repo.get(WebhookEndpoint, endpoint_id, for_update=True)
        if url is not None:
            endpoint.url = url
        if enabled_events is not None:
            endpoint.enabled_events = sorted(set(enabled_events))
        if description is not None:
            endpoint.description = description
        if disabled is True and endpoint.status == "enabled":
            endpoint.status, endpoint.disabled_reason = "disabled", "disabled by request"
            await repo.fail_pending_deliveries(endpoint.id, "the endpoint was disabled")
        elif disabled is False and endpoint.status == "disabled":
            endpoint.status, endpoint.disabled_reason, endpoint.failing_since = "enabled", None, None
        endpoint.updated_at = clock.now()
        await uow.commit()
    return endpoint


async def delete_endpoint(uow: UnitOfWork, tenant_id: str, endpoint_id: str) -> str:
    """Delete the endpoint and its delivery log."""
    async with uow:
        repo = uow.repo(tenant_id)
        endpoint = await repo.get(WebhookEndpoint, endpoint_id, for_update=True)
        await repo.delete(endpoint)
        await uow.commit()
    return endpoint_id


async def rotate_secret(uow: UnitOfWork, tenant_id: str, endpoint_id: str, clock: Clock) -> WebhookEndpoint:
    """A new secret; the old one keeps signing alongside it for 24 hours."""
    async with uow:
        endpoint = await uow.repo(tenant_id).get(WebhookEndpoint, endpoint_id, for_update=True)
        now = clock.now()
        # Real (database) time, like the dispatcher that compares it: not a test clock's.
        endpoint.previous_secret, endpoint.previous_secret_expires_at = endpoint.secret, func.now() + ROTATION_OVERLAP
        endpoint.secret = signing.new_secret()
        endpoint.updated_at = now
        await uow.commit()
    return endpoint


async def list_deliveries(
    uow: UnitOfWork, tenant_id: str, endpoint_id: str, *, limit: int, starting_after: str | None = None
) -> Page[WebhookDelivery]:
    async with uow:
        repo = uow.repo(tenant_id)
        await repo.get(WebhookEndpoint, endpoint_id)
        return await repo.page(WebhookDelivery, limit=limit, starting_after=starting_after, endpoint_id=endpoint_id)


async def retry_delivery(
    uow: UnitOfWork, tenant_id: str, endpoint_id: str, delivery_id: str, clock: Clock
) -> WebhookDelivery:
    """Attempt the delivery again now (also one that failed for good or was delivered)."""
    async with uow:
        repo = uow.repo(tenant_id)
        endpoint = await repo.get(WebhookEndpoint, endpoint_id)
        delivery = await repo.get(WebhookDelivery, delivery_id, for_update=True)
        if delivery.endpoint_id != endpoint.id:
            raise NotFound(f"no such webhook delivery: '{delivery_id}'", field="id")
        if endpoint.status != "enabled":
            raise Conflict("the endpoint is disabled: enable it first", field="status")
        delivery.status = "pending"
        delivery.next_attempt_at = clock.now()
        await uow.commit()
    return delivery


async def replay(
    uow: UnitOfWork, tenant_id: str, endpoint_id: str, *, created_gte: datetime, created_lt: datetime
) -> int:
    """Queue a new delivery of every event created in [created_gte, created_lt) that the
    endpoint subscribes to, oldest first (at most MAX_REPLAY per call); how many."""
    async with uow:
        repo = uow.repo(tenant_id)
        endpoint = await repo.get(WebhookEndpoint, endpoint_id, for_update=True)
        if endpoint.status != "enabled":
            raise Conflict("the endpoint is disabled: enable it first", field="status")
        count = await repo.replay_events(endpoint, created_gte, created_lt, MAX_REPLAY)
        await uow.commit()
    return count
