"""The events of one renewal batch, written by one statement (shared.db.event_writer) after
the batch's subscriptions and invoices, in the batch's transaction: a rolled-back batch
leaves no event. Objects are rendered in SQL from the rows the batch just wrote."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from contextvars import ContextVar
from datetime import datetime
from typing import Any

import asyncpg

from shared.db.event_writer import PendingEvent, write_events
from shared.db.invoice_writer import Written
from shared.domain.invoices import CYCLE_REASONS, BillingReason, InvoiceStatus
from shared.events.outbox import balance_transaction_event
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


def batch_events(
    rows: Sequence[asyncpg.Record],
    changes: Sequence[tuple[Any, ...]],
    written: Sequence[Written],
    marked: Sequence[asyncpg.Record],
    as_of: datetime,
) -> list[PendingEvent]:
    """Per subscription: its new invoices' events (and the ledger row each wrote in its
    customer's balance), then its own; then the invoices marked uncollectible by dunning."""
    if not ENABLED:
        return []
    run = RUN.get()
    invoices: dict[tuple[str, str | None], list[Written]] = defaultdict(list)
    for w in written:
        invoices[(w.tenant_id, w.draft.subscription_id)].append(w)
    events: list[PendingEvent] = []
    changed = {(c[0], c[1]): c for c in changes}
    for row in rows:
        change = changed.get((row["tenant_id"], row["id"]))
        if change is None:  # skipped by the batch (its invoice could not be written): nothing happened
            continue
        mine = invoices.get((row["tenant_id"], row["id"]), [])
        for w in mine:
            types = ["invoice.created", "invoice.finalized"]
            if w.draft.status is InvoiceStatus.PAID:
                types.append("invoice.paid")
            events += [
                PendingEvent(
                    w.tenant_id,
                    t,
                    w.id,
                    w.draft.created_at,
                    kind="invoice",
                    test_clock_id=w.draft.test_clock_id,
                    renewal_run=run,
                )
                for t in types
            ]
            if w.draft.totals.balance_change:  # the ledger row it wrote (credit applied or kept)
                events.append(balance_transaction_event(w, run))
        used_up = [w.draft.discount for w in mine if w.draft.discount is not None and _uses_up(w)]
        for discount in used_up:  # the engine ended it (UPDATE_DISCOUNTS): rendered as it left it
            events.append(
                PendingEvent(
                    row["tenant_id"],
                    "customer.discount.deleted",
                    discount.id,
                    mine[-1].draft.created_at,
                    kind="discount",
                    test_clock_id=row["test_clock_id"],
                    renewal_run=run,
                )
            )
        renewed = any(w.draft.reason is BillingReason.SUBSCRIPTION_CYCLE for w in mine)
        previous = {
            api: _json(row[column]) for column, api in _TRACKED.items() if row[column] != change[_CHANGE_INDEX[column]]
        }
        if change[7] is not None and row["status"] != "canceled":
            previous["ended_at"] = None
        for t in _subscription_type(row["status"], change[2], renewed):
            events.append(
                PendingEvent(
                    row["tenant_id"],
                    t,
                    row["id"],
                    as_of,
                    kind="subscription",
                    previous=previous or None,
                    test_clock_id=row["test_clock_id"],
                    renewal_run=run,
                )
            )
    for m in marked:
        events.append(
            PendingEvent(
                m["tenant_id"],
                "invoice.marked_uncollectible",
                m["id"],
                m["marked_uncollectible_at"],
                kind="invoice",
                test_clock_id=m["test_clock_id"],
                renewal_run=run,
            )
        )
    return events


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
