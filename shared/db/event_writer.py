"""The one place events are written (the outbox), for requests and renewal runs alike.

`write_events` runs in the caller's transaction and issues ONE statement whatever the
number of events: it inserts the events (rendering, in SQL, the objects the caller left to
the database: invoices and subscriptions written set-based), fans each one out to the
tenant's enabled webhook endpoints whose `enabled_events` match its type (a delivery row
per endpoint), and NOTIFYs the dispatchers (delivered at commit; nothing if it rolls back).

Per-object order: `events.seq` is a global identity. Every writer of an object holds the
object's row lock (or created it) while it writes the object's event, so an object's
events have increasing seq in commit order.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from shared.domain.ids import new_id
from shared.domain.taxes import REVERSE_CHARGE_NOTE

CHANNEL = "billing_events"

# Who caused the events written in this context: (request id, API key id), set per request.
CAUSE: ContextVar[tuple[str | None, str | None] | None] = ContextVar("billing_event_cause", default=None)


def iso(column: str) -> str:
    """A timestamptz as pydantic renders it: 2026-01-01T00:00:00Z, or with .ffffff if any
    (one to_char per value: the renewal renders thousands of them per batch; NULL stays NULL)."""
    return f"replace(to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), '.000000Z', 'Z')"


# The API's rendering of a subscription and an invoice (shared.schemas), in SQL; a test
# compares both with what GET returns. JSON_OBJECT (SQL/JSON, PostgreSQL 16+) rather than
# jsonb_build_object: same result, but the arguments' types are looked up once per statement
# instead of once per call (a third cheaper for the invoice's 36 keys; a renewal batch renders
# thousands). NULL ON NULL is its default: absent values render as null, as the API does.
SUBSCRIPTION_JSON = f"""
(SELECT JSON_OBJECT(
    'id': s.id, 'object': 'subscription', 'customer_id': s.customer_id, 'plan_id': s.plan_id,
    'status': s.status, 'billing_cycle_anchor': {iso("s.billing_cycle_anchor")},
    'current_period_start': {iso("s.current_period_start")}, 'current_period_end': {iso("s.current_period_end")},
    'trial_end': {iso("s.trial_end")}, 'paused_at': {iso("s.paused_at")}, 'test_clock': s.test_clock_id,
    'livemode': s.test_clock_id IS NULL, 'cancel_at_period_end': s.cancel_at_period_end,
    'canceled_at': {iso("s.canceled_at")}, 'ended_at': {iso("s.ended_at")},
    'default_tax_rates': to_jsonb(s.default_tax_rates), 'created_at': {iso("s.created_at")},
    'discount': (SELECT JSON_OBJECT(
        'id': d.id, 'object': 'discount', 'subscription': d.subscription_id, 'customer': d.customer_id,
        'coupon': d.coupon_id, 'promotion_code': d.promotion_code_id, 'periods_left': d.periods_left,
        'created_at': {iso("d.created_at")}, 'ended_at': NULL RETURNING jsonb)
        FROM discounts d WHERE d.tenant_id = s.tenant_id AND d.subscription_id = s.id AND d.ended_at IS NULL)
    RETURNING jsonb)
 FROM subscriptions s WHERE s.tenant_id = v.tenant_id AND s.id = v.object_id)
"""
# The reverse-charge note (shared.domain.taxes) as an SQL literal.
_REVERSE_NOTE = "'" + REVERSE_CHARGE_NOTE.replace("'", "''") + "'"

INVOICE_JSON = f"""
(SELECT JSON_OBJECT(
    'id': i.id, 'object': 'invoice', 'number': i.number, 'customer_id': i.customer_id,
    'subscription_id': i.subscription_id, 'test_clock': i.test_clock_id, 'livemode': i.test_clock_id IS NULL,
    'status': i.status, 'billing_reason': i.billing_reason, 'currency': i.currency,
    'period_start': {iso("i.period_start")}, 'period_end': {iso("i.period_end")}, 'subtotal': i.subtotal,
    'total': i.total, 'amount_due': i.amount_due, 'amount_paid': i.amount_paid,
    'pre_payment_credit_notes_amount': i.pre_payment_credit_notes_amount,
    'post_payment_credit_notes_amount': i.post_payment_credit_notes_amount,
    'starting_balance': i.starting_balance, 'ending_balance': i.ending_balance,
    'total_discount_amounts': i.total_discount_amounts, 'total_excluding_tax': i.total - i.tax, 'tax': i.tax,
    'total_tax_amounts': i.total_tax_amounts, 'customer_tax_exempt': i.customer_tax_exempt,
    'tax_note': CASE WHEN i.customer_tax_exempt = 'reverse' THEN {_REVERSE_NOTE} END,
    'created_at': {iso("i.created_at")}, 'due_at': {iso("i.due_at")}, 'finalized_at': {iso("i.finalized_at")},
    'paid_at': {iso("i.paid_at")}, 'voided_at': {iso("i.voided_at")},
    'marked_uncollectible_at': {iso("i.marked_uncollectible_at")},
    'amount_remaining': i.amount_due - i.amount_paid,
    'lines': COALESCE((SELECT jsonb_agg(JSON_OBJECT(
        'id': l.id, 'object': 'line_item', 'description': l.description, 'amount': l.amount,
        'currency': l.currency, 'period_start': {iso("l.period_start")}, 'period_end': {iso("l.period_end")},
        'plan_id': l.plan_id, 'proration': l.proration, 'discount_amounts': l.discount_amounts,
        'tax_amounts': l.tax_amounts RETURNING jsonb) ORDER BY l.position)
        FROM invoice_lines l WHERE l.tenant_id = i.tenant_id AND l.invoice_id = i.id), '[]'::jsonb) RETURNING jsonb)
 FROM invoices i WHERE i.tenant_id = v.tenant_id AND i.id = v.object_id)
"""

# The ledger row an invoice wrote in its customer's balance (shared.db.balances), as the API
# renders a balance transaction; found from the invoice (`v.object_id`) through the customer's
# ledger index. Written by the invoice writer, which does not hand out the row's id.
INVOICE_BALANCE_TRANSACTION_JSON = f"""
(SELECT jsonb_build_object(
    'id', b.id, 'object', 'customer_balance_transaction', 'customer', b.customer_id, 'amount', b.amount,
    'currency', b.currency, 'type', b.type, 'invoice', b.invoice_id, 'credit_note', b.credit_note_id,
    'description', b.description,
    'created_at', {iso("b.created_at")})
 FROM invoices i JOIN balance_transactions b
   ON b.tenant_id = i.tenant_id AND b.customer_id = i.customer_id AND b.invoice_id = i.id
 WHERE i.tenant_id = v.tenant_id AND i.id = v.object_id AND b.type IN ('proration_credit', 'invoice_applied')
 ORDER BY b.id LIMIT 1)
"""

# A discount (shared.schemas.coupons.Discount), e.g. one the renewal used up.
DISCOUNT_JSON = f"""
(SELECT jsonb_build_object(
    'id', d.id, 'object', 'discount', 'subscription', d.subscription_id, 'customer', d.customer_id,
    'coupon', d.coupon_id, 'promotion_code', d.promotion_code_id, 'periods_left', d.periods_left,
    'created_at', {iso("d.created_at")}, 'ended_at', {iso("d.ended_at")})
 FROM discounts d WHERE d.tenant_id = v.tenant_id AND d.id = v.object_id)
"""

# A type matches a pattern of enabled_events where '*' stands for any run of characters.
MATCHES = (
    "EXISTS (SELECT 1 FROM unnest(e.enabled_events) p WHERE ins.type LIKE replace(replace(p, '_', '\\_'), '*', '%'))"
)

# After the events CTE `ins`: a delivery for every enabled endpoint of the tenant whose
# enabled_events match, and a wake-up for the dispatchers (at commit).
_DELIVERIES = f"""), deliveries AS (
    INSERT INTO webhook_deliveries (tenant_id, id, endpoint_id, event_id)
    SELECT ins.tenant_id, 'whd_' || substr(ins.id, 5) || substr(md5(e.id), 1, 8), e.id, ins.id
    FROM ins JOIN webhook_endpoints e ON e.tenant_id = ins.tenant_id AND e.status = 'enabled'
    WHERE {MATCHES}
)
SELECT pg_notify('{CHANNEL}', '')
"""

INSERT_EVENTS = f"""
WITH v AS (
    SELECT * FROM unnest($1::int[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::jsonb[],
                         $8::jsonb[], $9::timestamptz[], $10::text[], $11::text[], $12::text[], $13::text[])
      AS v(ord, tenant_id, id, type, kind, object_id, object, previous, created, request_id, api_key_id,
           renewal_run, test_clock_id)
), rendered AS (  -- each object left to SQL rendered once, however many events it has here
    SELECT v.tenant_id, v.object_id, v.kind,
           CASE v.kind WHEN 'invoice' THEN {INVOICE_JSON} WHEN 'subscription' THEN {SUBSCRIPTION_JSON}
                WHEN 'invoice_balance_transaction' THEN {INVOICE_BALANCE_TRANSACTION_JSON}
                WHEN 'discount' THEN {DISCOUNT_JSON} END AS object
    FROM (SELECT DISTINCT tenant_id, object_id, kind FROM v WHERE object IS NULL) v
), ins AS (
    INSERT INTO events (tenant_id, id, type, object_id, data, request_id, api_key_id, renewal_run,
                        test_clock_id, created)
    SELECT v.tenant_id, v.id, v.type,
           CASE WHEN v.kind = 'invoice_balance_transaction' THEN r.object->>'id' ELSE v.object_id END,
           CASE WHEN v.previous IS NULL THEN JSON_OBJECT('object': COALESCE(v.object, r.object) RETURNING jsonb)
                ELSE JSON_OBJECT('object': COALESCE(v.object, r.object), 'previous_attributes': v.previous
                                 RETURNING jsonb) END,
           v.request_id, v.api_key_id, v.renewal_run, v.test_clock_id, v.created
    FROM v LEFT JOIN rendered r
      ON v.object IS NULL AND r.tenant_id = v.tenant_id AND r.object_id = v.object_id AND r.kind = v.kind
    ORDER BY v.ord
    RETURNING tenant_id, id, type
{_DELIVERIES}"""


# An event's payload as readers see it (`ev`: a row of events): stored on the event, or on
# the event its `data_event` names (INSERT_OBJECT_EVENTS; the ORM's Event.data is the same).
EVENT_DATA = (
    "COALESCE(ev.data, (SELECT h.data FROM events h WHERE h.tenant_id = ev.tenant_id AND h.id = ev.data_event))"
)

# The events of many objects, each object's `data` built ONCE in SQL from its row as the
# transaction left it (a renewal batch: an invoice's created, finalized and paid events share
# one), with ids and order given by the caller. Per object ($1-$8, in event order): tenant, id,
# kind ('invoice' | 'subscription'), its event types and their ids (each separated by
# spaces), created, previous attributes (the same for each of its events), test clock; $9 the
# renewal run, $10 and $11 the request and API key (without a run). MATERIALIZED, and `data`
# made there: a jsonb put into another is taken apart and rebuilt, so wrapping the object per
# event cost as much as rendering it. The CTE keeps `data` only, not the object too (both
# overflowed work_mem into a temporary file). `data` is STORED ONCE per object: on its last
# event here; its earlier ones hold NULL and name that event in `data_event` (readers:
# EVENT_DATA). A renewed invoice's payload was a third of a batch's event bytes twice over.
INSERT_OBJECT_EVENTS = f"""
WITH v AS MATERIALIZED (
    SELECT v.tenant_id, v.kind, v.types, v.ids, v.created, v.test_clock_id, v.n,
           CASE WHEN v.kind = 'invoice_balance_transaction' THEN v.object->>'id' ELSE v.object_id END AS object_id,
           CASE WHEN v.previous IS NULL THEN JSON_OBJECT('object': v.object RETURNING jsonb)
                ELSE JSON_OBJECT('object': v.object, 'previous_attributes': v.previous RETURNING jsonb) END AS data
    FROM (SELECT v.*,
                 CASE v.kind WHEN 'invoice' THEN {INVOICE_JSON} WHEN 'subscription' THEN {SUBSCRIPTION_JSON}
                      WHEN 'invoice_balance_transaction' THEN {INVOICE_BALANCE_TRANSACTION_JSON}
                      WHEN 'discount' THEN {DISCOUNT_JSON} END
                   AS object
          FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::jsonb[],
                      $8::text[])
            WITH ORDINALITY AS v(tenant_id, object_id, kind, types, ids, created, previous, test_clock_id, n)
          OFFSET 0) v  -- not flattened: the object is rendered once, not once per mention above
), ins AS (
    INSERT INTO events (tenant_id, id, type, object_id, data, data_event, renewal_run, request_id, api_key_id,
                        test_clock_id, created)
    SELECT v.tenant_id, t.ids[t.k], t.types[t.k], v.object_id,
           CASE WHEN t.k = t.last THEN v.data END, CASE WHEN t.k < t.last THEN t.ids[t.last] END,
           $9::text, $10::text, $11::text, v.test_clock_id, v.created
    FROM v CROSS JOIN LATERAL (SELECT string_to_array(v.types, ' ') AS types, string_to_array(v.ids, ' ') AS ids) a
    CROSS JOIN LATERAL (SELECT a.types, a.ids, k, cardinality(a.types) AS last
                        FROM generate_subscripts(a.types, 1) k) t
    ORDER BY v.n, t.k
    RETURNING tenant_id, id, type
{_DELIVERIES}"""


CUSTOM_PLAN_ABOVE = 50  # events in one write from which its plan is made for its real size

Rendered = dict[str, Any] | Callable[[], dict[str, Any] | None]


def _json(value: Rendered | None) -> str | None:
    """A rendering given as a callable is made at write time (the state at commit)."""
    found = value() if callable(value) else value
    return None if found is None else json.dumps(found)


@dataclass(frozen=True)
class PendingEvent:
    """An event to write. `object` is the rendered object (or a callable rendering it at
    write time), or None to render it in SQL from its table (`kind`: 'invoice',
    'subscription' or 'discount') as the transaction left it; kind 'invoice_balance_transaction' renders
    the ledger row the invoice `object_id` wrote (the event is about that row, its id).
    `previous`: the changed attributes' former values (updates only)."""

    tenant_id: str
    type: str
    object_id: str
    created: datetime
    object: Rendered | None = None
    kind: str | None = None
    previous: Rendered | None = None
    test_clock_id: str | None = None
    renewal_run: str | None = None


async def write_events(conn: asyncpg.Connection, events: Sequence[PendingEvent]) -> list[str]:
    """Write `events` in order, in the caller's transaction; return their ids."""
    if not events:
        return []
    cause = CAUSE.get() or (None, None)
    ids = [new_id("evt") for _ in events]
    rows = [
        (
            n,
            e.tenant_id,
            event_id,
            e.type,
            e.kind,
            e.object_id,
            _json(e.object),
            _json(e.previous),
            e.created,
            None if e.renewal_run else cause[0],
            None if e.renewal_run else cause[1],
            e.renewal_run,
            e.test_clock_id,
        )
        for n, (e, event_id) in enumerate(zip(events, ids))
    ]
    if len(rows) > CUSTOM_PLAN_ABOVE:
        # A batch's write must be planned for its real size: after five runs PostgreSQL may
        # switch the prepared statement to a generic plan, which assumes a few rows per
        # array and re-renders the objects for every event (4x slower for a renewal batch).
        # Local to the batch's transaction.
        await conn.execute("SET LOCAL plan_cache_mode = force_custom_plan")
    await conn.execute(INSERT_EVENTS, *map(list, zip(*rows)))
    return ids


@dataclass
class ObjectEvents:
    """Events of objects rendered in SQL (`INSERT_OBJECT_EVENTS`), one entry per object in
    the order its events are written: the cheap form of a renewal batch's events (no
    PendingEvent per event)."""

    tenant_ids: list[str]
    object_ids: list[str]
    kinds: list[str]
    types: list[str]  # the object's event types, separated by spaces
    ids: list[str]  # their event ids, likewise
    created: list[datetime]
    previous: list[str | None]  # JSON
    test_clock_ids: list[str | None]
    all_ids: list[str]  # every event id, in order

    def add(
        self,
        tenant_id: str,
        object_id: str,
        kind: str,
        types: Sequence[str],
        created: datetime,
        previous: str | None = None,
        test_clock_id: str | None = None,
    ) -> None:
        self.tenant_ids.append(tenant_id)
        self.object_ids.append(object_id)
        self.kinds.append(kind)
        ids = [new_id("evt") for _ in types]  # made in write order: ids sort as the events were written
        self.types.append(" ".join(types))
        self.ids.append(" ".join(ids))
        self.all_ids += ids
        self.created.append(created)
        self.previous.append(previous)
        self.test_clock_ids.append(test_clock_id)


def object_events() -> ObjectEvents:
    return ObjectEvents([], [], [], [], [], [], [], [], [])


async def write_object_events(conn: asyncpg.Connection, events: ObjectEvents, renewal_run: str | None) -> list[str]:
    """Write `events` (of `renewal_run`, or else of the request in CAUSE) in order, in the caller's transaction, with one
    statement; return their ids."""
    if not events.all_ids:
        return []
    cause = CAUSE.get() or (None, None)
    if len(events.all_ids) > CUSTOM_PLAN_ABOVE:
        # Unlike write_events' statement, this one renders its objects in a MATERIALIZED CTE:
        # once whatever the plan. So the generic plan is as good, and it saves planning the
        # batch's arrays as constants each time (95 vs 104 ms per 1,000 renewed subscriptions).
        await conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
    await conn.execute(
        INSERT_OBJECT_EVENTS,
        events.tenant_ids,
        events.object_ids,
        events.kinds,
        events.types,
        events.ids,
        events.created,
        events.previous,
        events.test_clock_ids,
        renewal_run,
        None if renewal_run else cause[0],
        None if renewal_run else cause[1],
    )
    return events.all_ids
