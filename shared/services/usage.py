"""Usage: ingest events (one or a batch, idempotent by the client's event id) and read
the usage of a customer. One transaction per batch: a batch is stored whole or not at all.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared import failpoints
from shared.clock import Clock
from shared.db import usage_store
from shared.db.tables import Customer, TestClock
from shared.db.uow import UnitOfWork
from shared.domain import usage as rules
from shared.domain.errors import NotFound
from shared.domain.usage import Aggregation, MeterRule, Rejected, Status


@dataclass(frozen=True)
class EventIn:
    id: str
    customer: str  # id or external_id
    meter: str  # code
    timestamp: datetime
    properties: dict[str, Any]


@dataclass(frozen=True)
class Result:
    id: str
    status: Status
    reason: str | None = None


async def ingest(
    uow: UnitOfWork, tenant_id: str, clock: Clock, events: Sequence[EventIn], *, max_future: timedelta
) -> list[Result]:
    """One result per event, in order. Reads and writes are a fixed number of statements
    whatever the batch size."""
    async with uow:
        if not await uow.repo(tenant_id).tenant_exists():
            raise NotFound(f"no such tenant: '{tenant_id}'")
        conn = await uow.driver_connection()
        first: dict[str, EventIn] = {}
        prints = [rules.fingerprint(e.customer, e.meter, e.timestamp, e.properties) for e in events]
        for event in events:
            first.setdefault(event.id, event)
        existing = {
            r["id"]: r["fingerprint"] for r in await conn.fetch(usage_store.EXISTING_IDS, tenant_id, list(first))
        }
        refs = sorted({e.customer for e in first.values()})
        customers = {r["ref"]: r for r in await conn.fetch(usage_store.CUSTOMERS, tenant_id, refs)}
        customer_ids = sorted({r["id"] for r in customers.values()})
        billed_until: dict[str, datetime] = {}
        for r in await conn.fetch(usage_store.BILLED_UNTIL, tenant_id, customer_ids):
            if r["billed_until"] is not None:
                billed_until[r["customer_id"]] = max(
                    r["billed_until"], billed_until.get(r["customer_id"], r["billed_until"])
                )
        meters = {
            r["code"]: r
            for r in await conn.fetch(usage_store.METERS, tenant_id, sorted({e.meter for e in first.values()}))
        }
        now = clock.now()
        results: list[Result | None] = [None] * len(events)
        rows: list[usage_store.Row] = []
        candidates: dict[str, int] = {}  # event id -> index of the event inserted under it
        seen: dict[str, str] = {}  # event id -> fingerprint of its first occurrence in this batch
        for n, (event, print_) in enumerate(zip(events, prints)):
            if event.id in existing or event.id in seen:
                earlier = existing.get(event.id, seen.get(event.id))
                same = earlier == print_
                results[n] = Result(
                    event.id,
                    Status.DUPLICATE if same else Status.CONFLICT,
                    None if same else "an event with this id and other content exists",
                )
                continue
            seen[event.id] = print_
            try:
                customer = customers.get(event.customer)
                if customer is None:
                    raise Rejected(f"unknown customer '{event.customer}'")
                meter = meters.get(event.meter)
                if meter is None:
                    raise Rejected(f"unknown meter '{event.meter}'")
                if not meter["active"]:
                    raise Rejected(f"meter '{event.meter}' is archived")
                rule = MeterRule(Aggregation(meter["aggregation"]), meter["value_property"], _json(meter["filters"]))
                measured = rules.measure(rule, event.properties)
                customer_now = customer["frozen_time"] if customer["test_clock_id"] else now
                rules.check_time(event.timestamp, customer_now, max_future, billed_until.get(customer["id"]))
            except Rejected as rejected:
                results[n] = Result(event.id, Status.REJECTED, rejected.reason)
                continue
            candidates[event.id] = n
            rows.append(
                usage_store.Row(
                    event.id,
                    customer["id"],
                    meter["id"],
                    event.timestamp,
                    measured.value,
                    measured.unique_value,
                    measured.counted,
                    event.properties,
                    print_,
                )
            )
        inserted = await usage_store.insert(conn, tenant_id, rows, now)
        failpoints.hit(failpoints.USAGE_WRITTEN)
        lost = [event_id for event_id in candidates if event_id not in inserted]
        raced: dict[str, str] = {}
        if lost:  # another request stored these ids after our first read (it has committed)
            raced = {r["id"]: r["fingerprint"] for r in await conn.fetch(usage_store.EXISTING_IDS, tenant_id, lost)}
        for event_id, n in candidates.items():
            if event_id in inserted:
                results[n] = Result(event_id, Status.ACCEPTED)
            else:
                same = raced.get(event_id) == prints[n]
                results[n] = Result(
                    event_id,
                    Status.DUPLICATE if same else Status.CONFLICT,
                    None if same else "an event with this id and other content exists",
                )
        await uow.commit()
    return [r for r in results if r is not None]


async def customer_usage(
    uow: UnitOfWork,
    tenant_id: str,
    clock: Clock,
    customer_id: str,
    *,
    meter: str | None,
    start: datetime | None,
    end: datetime | None,
) -> tuple[datetime, datetime, list[tuple[str, str, Any, int]]]:
    """Each meter's quantity for the customer in [start, end): by default the customer's
    current billing period (its newest subscription's, from where usage was last billed),
    else from the customer's creation to now."""
    async with uow:
        repo = uow.repo(tenant_id)
        customer = await repo.get(Customer, customer_id)
        now = clock.now()
        if customer.test_clock_id is not None:
            now = (await repo.get(TestClock, customer.test_clock_id)).frozen_time
        newest = await repo.newest_subscription(customer.id)
        if start is None:
            start = newest.current_period_start if newest is not None else customer.created_at
            if newest is not None and newest.usage_billed_until is not None:
                start = max(start, newest.usage_billed_until)
        if end is None:  # the period's end, or just after now (events at now included)
            end = newest.current_period_end if newest is not None else now + timedelta(microseconds=1)
            end = max(end, start + timedelta(microseconds=1))
        meters = await repo.meters(codes=[meter] if meter else None)
        if meter and not meters:
            raise NotFound(f"no such meter: '{meter}'", field="meter")
        conn = await uow.driver_connection()
        windows = [usage_store.Window(tenant_id, customer.id, m.code, start, end) for m in meters]
        found = await usage_store.quantities(conn, windows)
    data = [(m.code, m.aggregation, q.quantity if q else 0, q.events if q else 0) for m, q in zip(meters, found)]
    return start, end, data  # an empty window (to <= from) measures nothing


def _json(raw: Any) -> Any:
    """A JSONB value from the driver: decoded already (SQLAlchemy's codec) or as text."""
    return json.loads(raw) if isinstance(raw, str) else raw
