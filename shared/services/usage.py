"""Usage: ingest events (one or a batch, idempotent by the client's event id) and read
the usage of a customer. One transaction per batch: a batch is stored whole or not at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple
from weakref import WeakKeyDictionary

import asyncpg

from shared import failpoints
from shared.clock import Clock
from shared.db import usage_store
from shared.db.tables import Customer, TestClock
from shared.db.uow import UnitOfWork
from shared.domain import usage as rules
from shared.domain.errors import NotFound
from shared.domain.usage import Aggregation, MeterRule, Rejected, Status


class EventIn(NamedTuple):
    id: str
    customer: str  # id or external_id
    meter: str  # code
    timestamp: datetime
    properties: dict[str, Any]


class Result(NamedTuple):
    id: str
    status: Status
    reason: str | None = None


_CONFLICT = "an event with this id and other content exists"


class _Meter(NamedTuple):
    id: str
    rule: MeterRule


# What never changes of a meter, by (tenant, code), per database (one cache per sessionmaker):
# its id, aggregation, value_property and filters. Meters are never deleted and their code
# never changes; whether one is archived is checked by the statement that inserts.
_meter_caches: WeakKeyDictionary[object, dict[tuple[str, str], _Meter]] = WeakKeyDictionary()
METER_CACHE_ENTRIES = 10_000  # per database: the oldest entry goes first beyond it


async def _meters(
    conn: asyncpg.Connection, cache: dict[tuple[str, str], _Meter], tenant_id: str, codes: set[str]
) -> dict[str, _Meter]:
    found = {code: cache[(tenant_id, code)] for code in codes if (tenant_id, code) in cache}
    if len(found) < len(codes):
        for row in await usage_store.meters(conn, tenant_id, sorted(codes - found.keys())):
            meter = _Meter(row.id, MeterRule(Aggregation(row.aggregation), row.value_property, row.filters))
            while len(cache) >= METER_CACHE_ENTRIES:
                del cache[next(iter(cache))]
            found[row.code] = cache[(tenant_id, row.code)] = meter
    return found


async def ingest(
    uow: UnitOfWork,
    tenant_id: str,
    clock: Clock,
    events: Sequence[EventIn],
    *,
    max_future: timedelta,
    tenant_known: bool = False,
) -> list[Result]:
    """One result per event, in order. A fixed number of statements whatever the batch size,
    on one driver connection in one transaction (no session: the hot write path).
    `tenant_known`: the caller authenticated with the tenant's key (it exists)."""
    cache = _meter_caches.setdefault(uow.sessions, {})
    results: list[Result | None] = [None] * len(events)
    first: dict[str, int] = {}  # event id -> index of its first occurrence in this batch
    later: list[int] = []  # indexes of the other occurrences
    prints: list[str] = []
    properties: list[str] = []
    stamps: list[datetime] = []  # every timestamp in UTC (the fingerprint's text depends on it)
    for n, event in enumerate(events):
        at = event.timestamp if event.timestamp.tzinfo is UTC else event.timestamp.astimezone(UTC)
        stamps.append(at)
        text = rules.canonical(event.properties)
        properties.append(text)
        prints.append(rules.fingerprint(event.customer, event.meter, at, text))
        if event.id in first:  # a later occurrence in the batch: nothing written for it
            results[n] = _resend(event.id, prints[first[event.id]], prints[n])
            later.append(n)
        else:
            first[event.id] = n
    async with uow.driver_transaction() as conn:
        if not tenant_known and not await conn.fetchval(usage_store.TENANT, tenant_id):
            raise NotFound(f"no such tenant: '{tenant_id}'")
        refs = sorted({events[n].customer for n in first.values()})
        found = await conn.fetch(usage_store.CUSTOMERS, tenant_id, refs)
        billed_until: dict[str, datetime] = {}
        for r in await conn.fetch(usage_store.BILLED_UNTIL, tenant_id, sorted({r["id"] for r in found})):
            if r["billed_until"] is not None:
                billed_until[r["customer_id"]] = max(
                    r["billed_until"], billed_until.get(r["customer_id"], r["billed_until"])
                )
        meters = await _meters(conn, cache, tenant_id, {events[n].meter for n in first.values()})
        now = clock.now()
        # Each reference's customer: its id, its now (a test clock's, if any), its usage invoiced until.
        customers = {
            r["ref"]: (r["id"], r["frozen_time"] if r["test_clock_id"] else now, billed_until.get(r["id"]))
            for r in found
        }
        rows = usage_store.Rows()
        candidates: list[int] = []  # indexes of the events inserted
        refused: dict[str, int] = {}  # event id -> index of an event refused (unless its id is stored)
        for n in first.values():
            event = events[n]
            try:
                customer = customers.get(event.customer)
                if customer is None:
                    raise Rejected(f"unknown customer '{event.customer}'")
                meter = meters.get(event.meter)
                if meter is None:
                    raise Rejected(f"unknown meter '{event.meter}'")
                measured = rules.measure(meter.rule, event.properties)
                rules.check_time(stamps[n], customer[1], max_future, customer[2])
            except Rejected as rejected:
                results[n] = Result(event.id, Status.REJECTED, rejected.reason)
                refused[event.id] = n
                continue
            candidates.append(n)
            rows.add(
                event.id,
                customer[0],
                meter.id,
                stamps[n],
                measured.value,
                measured.unique_value,
                measured.counted,
                properties[n],
                prints[n],
            )
        inserted = await usage_store.insert(conn, tenant_id, rows, now)
        failpoints.hit(failpoints.USAGE_WRITTEN)
        archived = {meter.id for meter in meters.values() if meter.id in inserted.archived}
        lost = []  # ids not written: stored already (maybe by a concurrent request that has committed)
        for n in candidates:
            event = events[n]
            if event.id in inserted.ids:
                results[n] = Result(event.id, Status.ACCEPTED)
            elif meters[event.meter].id in archived:
                results[n] = Result(event.id, Status.REJECTED, f"meter '{event.meter}' is archived")
                refused[event.id] = n
            else:
                lost.append(event.id)
        # A stored id answers duplicate or conflict, whatever else is wrong with the resend.
        asked = lost + list(refused)
        stored = {}
        if asked:  # a new statement: it sees what concurrent requests committed meanwhile
            stored = {r["id"]: r["fingerprint"] for r in await conn.fetch(usage_store.EXISTING_IDS, tenant_id, asked)}
        for event_id in asked:
            n = first[event_id]
            if event_id in stored or event_id not in refused:
                results[n] = _resend(event_id, stored.get(event_id), prints[n])
        for n in later:  # a repeat within the batch of an id stored before: compared with what is stored
            if events[n].id in stored:
                results[n] = _resend(events[n].id, stored[events[n].id], prints[n])
    return [r for r in results if r is not None]


def _resend(event_id: str, stored: str | None, fingerprint: str) -> Result:
    """A send of an id already used: the same content is a duplicate, other content a conflict."""
    return Result(event_id, Status.DUPLICATE) if stored == fingerprint else Result(event_id, Status.CONFLICT, _CONFLICT)


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
