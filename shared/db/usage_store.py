"""Usage events in and out of PostgreSQL, set-based: one statement per batch for each step,
never one round trip per event or per subscription.

Deduplication: usage_events is partitioned by time, and PostgreSQL requires a partitioned
table's unique keys to include the partition key, so (tenant, event id) is held unique by
the small table usage_event_ids instead. Ingestion inserts into both in ONE statement
(INSERT ... ON CONFLICT DO NOTHING into the ids, then the events of the ids that were new),
in the request's transaction: an event is stored with its id or not at all, and a concurrent
send of the same id waits for the first to commit and then finds it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import asyncpg

TENANT = "SELECT EXISTS (SELECT 1 FROM tenants WHERE id = $1)"

EXISTING_IDS = """
SELECT id, fingerprint FROM usage_event_ids WHERE tenant_id = $1 AND id = ANY($2::text[])
"""

# Customers named by id or external_id ($2), with their time (a test clock's, if any).
CUSTOMERS = """
SELECT k.ref, c.id, c.test_clock_id, tc.frozen_time
FROM unnest($2::text[]) AS k(ref)
JOIN LATERAL (
  SELECT c.id, c.test_clock_id FROM customers c WHERE c.tenant_id = $1 AND c.id = k.ref
  UNION ALL
  SELECT c.id, c.test_clock_id FROM customers c WHERE c.tenant_id = $1 AND c.external_id = k.ref
  LIMIT 1
) c ON true
LEFT JOIN test_clocks tc ON tc.tenant_id = $1 AND tc.id = c.test_clock_id
"""

# Until when each customer's usage is invoiced. FOR SHARE, in id order: a renewal or
# lifecycle change holding a subscription (FOR UPDATE) finishes first and its new period is
# what is read; a renewal claim skips a subscription whose usage is being written (SKIP
# LOCKED), so an event is never accepted into a period being invoiced without being billed.
BILLED_UNTIL = """
SELECT s.customer_id, greatest(s.current_period_start, s.usage_billed_until, s.ended_at) AS billed_until
FROM subscriptions s
WHERE s.tenant_id = $1 AND s.customer_id = ANY($2::text[])
ORDER BY s.id
FOR SHARE OF s
"""

# Meters by code: what never changes of them (id, aggregation, value_property, filters).
METERS = """
SELECT id, code, aggregation, value_property, filters
FROM meters WHERE tenant_id = $1 AND code = ANY($2::text[])
"""

# The accepted events ($2: one JSON array of rows, see Rows) in ONE statement: the ids new to
# the tenant go into usage_event_ids (ON CONFLICT DO NOTHING: a concurrent send of the same
# id waits for the first to commit and then inserts nothing), and the events of those ids
# into usage_events. Only events of meters still active are written (an archived meter takes
# no new events: checked here, where it is written, not when the meter was cached). Answers
# the ids inserted (archived NULL), then the archived meters among those named (id NULL).
# One JSON parameter rather than nine arrays: the driver's per-element encoding was the
# largest cost of the request's own process.
INSERT = """
WITH v AS (
  SELECT e->>0 AS id, e->>1 AS customer_id, e->>2 AS meter_id, (e->>3)::timestamptz AS ts, (e->>4)::numeric AS value,
         e->>5 AS unique_value, (e->>6)::bool AS counted, e->7 AS properties, e->>8 AS fingerprint
  FROM jsonb_array_elements($2::jsonb) AS e
), named AS (
  SELECT m.id, m.active FROM meters m WHERE m.tenant_id = $1 AND m.id IN (SELECT DISTINCT meter_id FROM v)
), ids AS (
  INSERT INTO usage_event_ids (tenant_id, id, fingerprint, customer_id, "timestamp")
  SELECT $1, v.id, v.fingerprint, v.customer_id, v.ts FROM v JOIN named ON named.id = v.meter_id AND named.active
  ON CONFLICT DO NOTHING
  RETURNING id
), events AS (
  INSERT INTO usage_events (tenant_id, customer_id, meter_id, "timestamp", id, value, unique_value, counted,
                            properties, received_at)
  SELECT $1, v.customer_id, v.meter_id, v.ts, v.id, v.value, v.unique_value, v.counted, v.properties, $3
  FROM v JOIN ids ON ids.id = v.id
)
SELECT id, NULL AS archived FROM ids
UNION ALL
SELECT NULL, id FROM named WHERE NOT active
"""

# What ingestion sends (every one filters on or writes the tenant, $1).
INGESTION = (EXISTING_IDS, CUSTOMERS, BILLED_UNTIL, METERS, INSERT)

# The quantity of each (tenant, customer, meter code, [low, high)) window asked for:
# every window of a whole renewal batch in one statement. One index range scan each
# (the primary key leads with tenant, customer, meter, timestamp; partitions pruned by time).
QUANTITIES = """
SELECT v.n, m.id AS meter_id, m.name AS meter_name,
  CASE m.aggregation
    WHEN 'count' THEN count(e.id)::numeric
    WHEN 'sum' THEN coalesce(sum(e.value), 0)
    WHEN 'max' THEN coalesce(max(e.value), 0)
    WHEN 'unique_count' THEN count(DISTINCT e.unique_value)::numeric
    ELSE coalesce((array_agg(e.value ORDER BY e."timestamp" DESC, e.id DESC))[1], 0)
  END AS quantity,
  count(e.id) AS events
FROM unnest($1::int[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::timestamptz[])
  AS v(n, tenant_id, customer_id, meter_code, low, high)
JOIN meters m ON m.tenant_id = v.tenant_id AND m.code = v.meter_code
LEFT JOIN usage_events e
  ON e.tenant_id = v.tenant_id AND e.customer_id = v.customer_id AND e.meter_id = m.id
 AND e."timestamp" >= v.low AND e."timestamp" < v.high AND e.counted
GROUP BY v.n, m.id, m.name, m.aggregation
"""

ENSURE_PARTITIONS = "SELECT usage_ensure_partitions($1::timestamptz, $2::int)"


@dataclass(frozen=True)
class Window:
    """Usage of one meter (by code) of one customer in [low, high)."""

    tenant_id: str
    customer_id: str
    meter_code: str
    low: datetime
    high: datetime


@dataclass(frozen=True)
class Quantity:
    meter_id: str
    meter_name: str
    quantity: Decimal
    events: int


async def quantities(conn: asyncpg.Connection, windows: Sequence[Window]) -> list[Quantity | None]:
    """The quantity of each window, in order (None: no such meter), in one statement."""
    if not windows:
        return []
    rows = await conn.fetch(
        QUANTITIES,
        list(range(len(windows))),
        [w.tenant_id for w in windows],
        [w.customer_id for w in windows],
        [w.meter_code for w in windows],
        [w.low for w in windows],
        [w.high for w in windows],
    )
    found: list[Quantity | None] = [None] * len(windows)
    for r in rows:
        found[r["n"]] = Quantity(r["meter_id"], r["meter_name"], r["quantity"], r["events"])
    return found


@dataclass(frozen=True)
class MeterDef:
    """What never changes of a meter (only `active` does: checked by INSERT)."""

    id: str
    code: str
    aggregation: str
    value_property: str | None
    filters: dict[str, Any]


async def meters(conn: asyncpg.Connection, tenant_id: str, codes: Sequence[str]) -> list[MeterDef]:
    """The tenant's meters with these codes (archived ones too)."""
    return [
        MeterDef(r["id"], r["code"], r["aggregation"], r["value_property"], _json(r["filters"]))
        for r in await conn.fetch(METERS, tenant_id, list(codes))
    ]


_string = json.encoder.encode_basestring_ascii


class Rows:
    """Events to insert, each as the JSON array the INSERT reads: [id, customer_id, meter_id,
    timestamp (ISO 8601), value (a decimal string or null), unique_value, counted, properties
    (a JSON object, as text), fingerprint]."""

    def __init__(self) -> None:
        self._items: list[str] = []

    def add(
        self,
        id: str,
        customer_id: str,
        meter_id: str,
        timestamp: datetime,
        value: Decimal | None,
        unique_value: str | None,
        counted: bool,
        properties: str,
        fingerprint: str,
    ) -> None:
        number = "null" if value is None else _string(str(value))
        unique = "null" if unique_value is None else _string(unique_value)
        self._items.append(
            f'[{_string(id)},{_string(customer_id)},{_string(meter_id)},"{timestamp.isoformat()}",{number},{unique},'
            f"{'true' if counted else 'false'},{properties},{_string(fingerprint)}]"
        )

    def json(self) -> str:
        return f"[{','.join(self._items)}]"

    def __len__(self) -> int:
        return len(self._items)


@dataclass(frozen=True)
class Inserted:
    ids: set[str]  # the events written
    archived: set[str]  # the meters (ids) among those named that are archived: none of their events written


async def insert(conn: asyncpg.Connection, tenant_id: str, rows: Rows, now: datetime) -> Inserted:
    """Insert the events whose id is new and whose meter is active, in one statement."""
    if not rows:
        return Inserted(set(), set())
    found = await conn.fetch(INSERT, tenant_id, rows.json(), now)
    return Inserted({r[0] for r in found if r[0] is not None}, {r[1] for r in found if r[1] is not None})


def _json(raw: Any) -> Any:
    """A JSONB value from the driver: decoded already (a codec) or as text."""
    return json.loads(raw) if isinstance(raw, str) else raw


async def ensure_partitions(conn: asyncpg.Connection, as_of: datetime, months_ahead: int = 2) -> int:
    """Create the monthly partitions from `as_of`'s month to `months_ahead` later (rows that
    reached the default partition for those months move in); how many were made."""
    return int(await conn.fetchval(ENSURE_PARTITIONS, as_of, months_ahead))
