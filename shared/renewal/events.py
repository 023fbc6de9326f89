"""The events of one renewal batch, written by one statement (shared.db.event_writer) after
the batch's subscriptions and invoices, in the batch's transaction: a rolled-back batch
leaves no event. Objects are rendered in SQL from the rows the batch just wrote."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from contextvars import ContextVar
from datetime import datetime
from typing import Any

import asyncpg

from shared.db.event_writer import PendingEvent, object_events, write_events, write_object_events
from shared.db.invoice_writer import Written
from shared.domain.invoices import CYCLE_REASONS, BillingReason, InvoiceStatus
from shared.renewal import sql

# The renewal run the events of this context belong to (set by shared.renewal.engine.renew).
RUN: ContextVar[str | None] = ContextVar("billing_renewal_run", default=None)
# Off only in bench.events, to measure the renewal rate without events (never in production).
ENABLED = True

# Claim-row column -> API attribute, for previous_attributes.
_TRACKED = {
    "status": "status",
    "current_period_start": "current_period_start",
    "current_period_end": "current_period_end",
    "cancel_at_period_end": "cancel_at_period_end",
}
# Positions in the engine's `changes` tuples.
_CHANGE_INDEX = {"status": 2, "current_period_start": 4, "current_period_end": 5, "cancel_at_period_end": 6}


def _json(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")  # as pydantic renders a UTC time
    return value


_OPEN = ("invoice.created", "invoice.finalized")
_PAID = (*_OPEN, "invoice.paid")
_LEDGER = ("customer.balance_transaction.created",)
_DISCOUNT_ENDED = ("customer.discount.deleted",)


def _subscription_type(old: str, new: str, renewed: bool) -> list[str]:
    types = ["subscription.renewed"] if renewed else []
    if new != old:
        types.append(
            {"canceled": "subscription.canceled", "past_due": "subscription.past_due"}.get(new, "subscription.updated")
        )
    return types


def _uses_up(w: Written) -> bool:
    """Whether this invoice of a new billing period used the last period of its discount
    (shared.domain.discounts: the discount then ends)."""
    discount = w.draft.discount
    return (
        w.draft.reason in CYCLE_REASONS
        and discount is not None
        and discount.periods_left is not None
        and not discount.after_new_period().active
    )


async def write_batch_events(
    conn: asyncpg.Connection,
    rows: Sequence[asyncpg.Record],
    changes: Sequence[tuple[Any, ...]],
    written: Sequence[Written],
    marked: Sequence[asyncpg.Record],
    as_of: datetime,
) -> list[str]:
    """Write the batch's events with one statement, each object rendered once in SQL: per
    subscription, its new invoices' events, then its own; then the invoices marked
    uncollectible by dunning. Returns the event ids."""
    if not ENABLED:
        return []
    invoices: dict[tuple[str, str | None], list[Written]] = defaultdict(list)
    for w in written:
        invoices[(w.tenant_id, w.draft.subscription_id)].append(w)
    events = object_events()
    changed = {(c[0], c[1]): c for c in changes}
    for row in rows:
        change = changed.get((row["tenant_id"], row["id"]))
        if change is None:  # skipped by the batch (its invoice could not be written): nothing happened
            continue
        mine: Sequence[Written] = invoices.get((row["tenant_id"], row["id"]), ())
        for w in mine:
            paid = w.draft.status is InvoiceStatus.PAID
            events.add(
                w.tenant_id, w.id, "invoice", _PAID if paid else _OPEN, w.draft.created_at, None, w.draft.test_clock_id
            )
            if w.draft.totals.balance_change:  # the ledger row it wrote (credit applied or kept)
                events.add(
                    w.tenant_id,
                    w.id,
                    "invoice_balance_transaction",
                    _LEDGER,
                    w.draft.created_at,
                    None,
                    w.draft.test_clock_id,
                )
        for w in mine:  # a discount the engine ended (UPDATE_DISCOUNTS): rendered as it left it
            if w.draft.discount is not None and _uses_up(w):
                events.add(
                    row["tenant_id"],
                    w.draft.discount.id,
                    "discount",
                    _DISCOUNT_ENDED,
                    mine[-1].draft.created_at,
                    None,
                    row["test_clock_id"],
                )
        renewed = any(w.draft.reason is BillingReason.SUBSCRIPTION_CYCLE for w in mine)
        previous = {
            api: _json(row[column]) for column, api in _TRACKED.items() if row[column] != change[_CHANGE_INDEX[column]]
        }
        if change[7] is not None and row["status"] != "canceled":
            previous["ended_at"] = None
        types = _subscription_type(row["status"], change[2], renewed)
        if types:
            events.add(
                row["tenant_id"],
                row["id"],
                "subscription",
                types,
                as_of,
                json.dumps(previous) if previous else None,
                row["test_clock_id"],
            )
    for m in marked:
        events.add(
            m["tenant_id"],
            m["id"],
            "invoice",
            ("invoice.marked_uncollectible",),
            m["marked_uncollectible_at"],
            None,
            m["test_clock_id"],
        )
    return await write_object_events(conn, events, RUN.get())


async def write_notices(
    conn: asyncpg.Connection,
    type_: str,
    as_of: datetime,
    tenant_id: str | None,
    test_clock_id: str | None,
    batch_size: int,
) -> int:
    """Emit notice `type_` (subscription.trial_will_end, invoice.payment_overdue) for every
    object of the run's scope that is due for it as of `as_of`, once per object: batches of
    one claim statement (which records the notices) and one event statement, each batch in
    its own transaction. The caller's connection is outside any transaction."""
    if not ENABLED:
        return 0
    run = RUN.get()
    object_kind = type_.split(".")[0]
    emitted = 0
    for _ in range(10_000):  # bounded: each batch notices up to batch_size objects for good
        async with conn.transaction():
            statement = sql.NOTICES["real_time" if test_clock_id is None else "test_clock"][type_]
            rows = await conn.fetch(statement, as_of, tenant_id, test_clock_id, batch_size)
            await write_events(
                conn,
                [
                    PendingEvent(
                        r["tenant_id"],
                        type_,
                        r["id"],
                        r["at"],
                        kind=object_kind,
                        test_clock_id=r["test_clock_id"],
                        renewal_run=run,
                    )
                    for r in rows
                ],
            )
        emitted += len(rows)
        if len(rows) < batch_size:
            break
    return emitted
