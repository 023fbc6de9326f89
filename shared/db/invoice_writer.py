"""The one place invoices and their lines are written, for requests and renewal runs alike.

`write_invoices` runs inside the caller's transaction on its asyncpg connection (the
renewal engine's own, or a request's session connection) and issues one set-based
statement per table, whatever the number of invoices:

1. number blocks, one per sequence: a tenant's legal sequence for real invoices, a test
   clock's own for simulated ones (never a legal number). LOCK ORDER, in every writer:
   tenant rows (sorted by id), then test-clock rows (sorted by tenant, id), so writers
   never deadlock. The rows stay locked until the caller's commit, so numbers are
   gap-free (a rollback gives them back) and never shared;
2. the invoices, 3. their lines, 4. the pending items they absorb, 5. what they change
   in their customers' balances (shared.db.balances: ledger and balance in one statement;
   the caller locked the balances and applied them to the drafts, `with_balances`).

One invoice with no balance change (a request's: create, resume, plan change) is written by
ONE statement instead (`ONE_INVOICE`: the number, the invoice, its lines and items in
data-modifying CTEs), so the request takes the number row's lock in one write and holds it
for no other round trip but the commit, when that write is its last: concurrent writers of one
tenant do not queue behind it. Its events can be written before it (`prepare_one`: the ids
given and the invoice rendered from its draft, number null); that statement then fills the
number into their object (`write_one(..., numbered_events=...)`).

Everything about an invoice but its id and number is decided by its draft
(shared.domain.invoices.InvoiceDraft). Business metrics are the caller's to record after
its commit (`record_issued`).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
from pydantic_core import to_jsonable_python

from shared import failpoints, metrics
from shared.db import balances, hot_reads
from shared.db.numbering import next_number
from shared.domain.errors import NotFound
from shared.domain.ids import new_id
from shared.domain.invoices import BillingReason, InvoiceDraft

# NO KEY UPDATE: numbering changes no key, so inserts elsewhere whose foreign keys
# share-lock these rows (customers, plans, idempotency keys) never wait on a writer.
LOCK_TENANTS = "SELECT id FROM tenants WHERE id = ANY($1::text[]) ORDER BY id FOR NO KEY UPDATE"
RESERVE_NUMBERS = """
UPDATE tenants t SET next_invoice_number = t.next_invoice_number + v.n
FROM unnest($1::text[], $2::bigint[]) AS v(id, n)
WHERE t.id = v.id
RETURNING t.id, t.next_invoice_number - v.n AS first
"""
LOCK_TEST_CLOCKS = """
SELECT c.tenant_id, c.id FROM test_clocks c
JOIN unnest($1::text[], $2::text[]) AS v(tenant_id, id) ON c.tenant_id = v.tenant_id AND c.id = v.id
ORDER BY c.tenant_id, c.id
FOR NO KEY UPDATE OF c
"""
RESERVE_TEST_CLOCK_NUMBERS = """
UPDATE test_clocks c SET next_invoice_number = c.next_invoice_number + v.n
FROM unnest($1::text[], $2::text[], $3::bigint[]) AS v(tenant_id, id, n)
WHERE c.tenant_id = v.tenant_id AND c.id = v.id
RETURNING c.tenant_id, c.id, c.next_invoice_number - v.n AS first
"""

INSERT_INVOICES = """
INSERT INTO invoices (tenant_id, id, number, customer_id, subscription_id, status, billing_reason,
                      currency, period_start, period_end, subtotal, total, amount_due, amount_paid,
                      created_at, due_at, finalized_at, paid_at, test_clock_id, starting_balance, ending_balance,
                      total_discount, tax, inclusive_tax, total_discount_amounts, total_tax_amounts,
                      customer_tax_exempt)
SELECT v.tenant_id, v.id, v.number, v.customer_id, v.subscription_id, v.status, v.reason,
       v.currency, v.period_start, v.period_end, v.subtotal, v.total, v.amount_due, v.amount_paid,
       v.created_at, v.due_at, v.created_at, v.paid_at, v.test_clock_id, v.starting_balance, v.ending_balance,
       v.total_discount, v.tax, v.inclusive_tax, v.total_discount_amounts::jsonb, v.total_tax_amounts::jsonb,
       v.customer_tax_exempt
FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
            $9::timestamptz[], $10::timestamptz[], $11::bigint[], $12::bigint[], $13::bigint[], $14::bigint[],
            $15::timestamptz[], $16::timestamptz[], $17::timestamptz[], $18::text[], $19::bigint[], $20::bigint[],
            $21::bigint[], $22::bigint[], $23::bigint[], $24::text[], $25::text[], $26::text[])
  AS v(tenant_id, id, number, customer_id, subscription_id, status, reason, currency, period_start,
       period_end, subtotal, total, amount_due, amount_paid, created_at, due_at, paid_at, test_clock_id,
       starting_balance, ending_balance, total_discount, tax, inclusive_tax, total_discount_amounts,
       total_tax_amounts, customer_tax_exempt)
"""

INSERT_LINES = """
INSERT INTO invoice_lines (tenant_id, id, invoice_id, position, description, amount, currency,
                           period_start, period_end, plan_id, proration, discount_amounts, tax_amounts)
SELECT v.tenant_id, v.id, v.invoice_id, v.position, v.description, v.amount, v.currency, v.period_start,
       v.period_end, v.plan_id, v.proration, v.discount_amounts::jsonb, v.tax_amounts::jsonb
FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::text[], $6::bigint[], $7::timestamptz[],
            $8::timestamptz[], $9::text[], $10::bool[], $11::text[], $12::text[], $13::text[])
  AS v(tenant_id, id, invoice_id, position, description, amount, period_start, period_end, plan_id, proration,
       discount_amounts, tax_amounts, currency)
"""

ATTACH_ITEMS = """
UPDATE invoice_items ii SET invoice_id = v.invoice_id
FROM unnest($1::text[], $2::text[], $3::text[]) AS v(tenant_id, id, invoice_id)
WHERE ii.tenant_id = v.tenant_id AND ii.id = v.id
"""

# One invoice without a balance change in one statement (a request's). $1 tenant, $2 invoice
# id, $3 test clock (NULL: the tenant's legal sequence), $4.. the invoice's columns, then the
# lines' and the items' arrays, $37 the events already written about this invoice (their
# object's number is set here). No row comes back when the test clock was deleted meanwhile
# (nothing is written then).
ONE_INVOICE = (
    next_number("next_invoice_number")
    + """invoice AS (
  INSERT INTO invoices (tenant_id, id, number, customer_id, subscription_id, status, billing_reason,
                        currency, period_start, period_end, subtotal, total, amount_due, amount_paid,
                        created_at, due_at, finalized_at, paid_at, test_clock_id, starting_balance, ending_balance,
                        total_discount, tax, inclusive_tax, total_discount_amounts, total_tax_amounts,
                        customer_tax_exempt)
  SELECT $1, $2, n.number, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $15, $17, $3::text,
         $18, $19, $20, $21, $22, $23::jsonb, $24::jsonb, $25
  FROM numbered n
  RETURNING number
), lines AS (
  INSERT INTO invoice_lines (tenant_id, id, invoice_id, position, description, amount, currency,
                             period_start, period_end, plan_id, proration, discount_amounts, tax_amounts)
  SELECT $1, l.id, $2, l.position, l.description, l.amount, $8, l.period_start, l.period_end, l.plan_id,
         l.proration, l.discount_amounts::jsonb, l.tax_amounts::jsonb
  FROM unnest($26::text[], $27::int[], $28::text[], $29::bigint[], $30::timestamptz[], $31::timestamptz[],
              $32::text[], $33::bool[], $34::text[], $35::text[])
    AS l(id, position, description, amount, period_start, period_end, plan_id, proration, discount_amounts,
         tax_amounts)
  WHERE EXISTS (SELECT FROM invoice)
), items AS (
  UPDATE invoice_items SET invoice_id = $2
  WHERE tenant_id = $1 AND id = ANY($36::text[]) AND EXISTS (SELECT FROM invoice)
), numbered_events AS (
  UPDATE events SET data = jsonb_set(data, '{object,number}', to_jsonb((SELECT number FROM invoice)))
  WHERE tenant_id = $1 AND id = ANY($37::text[]) AND EXISTS (SELECT FROM invoice)
)
SELECT number FROM invoice
"""
)


def as_json(amounts: Sequence[object]) -> str:
    """A breakdown (discount or tax amounts, flat dataclasses) as the JSON its column holds."""
    return json.dumps([vars(a) for a in amounts]) if amounts else "[]"


# What a draft decides, in the column order both invoice statements share.
def _decided(d: InvoiceDraft) -> tuple[object, ...]:
    return (
        d.customer_id,
        d.subscription_id,
        d.status.value,
        d.reason.value,
        d.currency,
        d.period.start,
        d.period.end,
        d.totals.subtotal,
        d.total,
        d.amount_due,
        d.amount_paid,
        d.created_at,
        d.due_at,
        d.paid_at,
    )


def _priced(d: InvoiceDraft) -> tuple[object, ...]:
    """The balance, discount and tax columns."""
    t = d.totals
    return (
        t.starting_balance,
        t.ending_balance,
        t.total_discount,
        t.tax,
        t.inclusive_tax,
        as_json(t.total_discount_amounts),
        as_json(t.total_tax_amounts),
        d.tax_exempt.value,
    )


def _lines(d: InvoiceDraft) -> list[tuple[object, ...]]:
    """Each line's columns from its position to its tax amounts (both line statements' order)."""
    return [
        (
            position,
            line.description,
            line.amount,
            line.period_start,
            line.period_end,
            line.plan_id,
            line.proration,
            as_json(totals.discount_amounts),
            as_json(totals.tax_amounts),
        )
        for position, (line, totals) in enumerate(zip(d.lines, d.totals.lines))
    ]


NumberSequence = tuple[str, str | None]  # (tenant id, test clock id or None): one numbering sequence


@dataclass(frozen=True)
class Written:
    """One stored invoice: its draft, and what the writer gave it."""

    tenant_id: str
    id: str
    number: int
    draft: InvoiceDraft


async def write_invoices(conn: asyncpg.Connection, drafts: Sequence[tuple[str, InvoiceDraft]]) -> list[Written]:
    """Store `(tenant id, draft)` pairs, in order, in the caller's transaction; return them
    with their ids and numbers. A test clock deleted meanwhile is a NotFound (nothing of
    this call is kept once the caller rolls back)."""
    if not drafts:
        return []
    if len(drafts) == 1 and not drafts[0][1].totals.balance_change:
        return [await write_one(conn, prepare_one(*drafts[0]))]
    numbers = await _reserve_numbers(conn, [(tenant_id, d.test_clock_id) for tenant_id, d in drafts])
    failpoints.hit(failpoints.NUMBERS_LOCKED)
    ids = [new_id("in") for _ in drafts]
    rows = [
        (tenant_id, invoice_id, number, *_decided(d), d.test_clock_id, *_priced(d))
        for (tenant_id, d), invoice_id, number in zip(drafts, ids, numbers)
    ]
    await conn.execute(INSERT_INVOICES, *map(list, zip(*rows)))
    written = [
        Written(tenant_id, invoice_id, number, d) for (tenant_id, d), invoice_id, number in zip(drafts, ids, numbers)
    ]
    lines = [(w.tenant_id, new_id("il"), w.id, *line, w.draft.currency) for w in written for line in _lines(w.draft)]
    if lines:
        await conn.execute(INSERT_LINES, *map(list, zip(*lines)))
    attached = [(w.tenant_id, item_id, w.id) for w in written for item_id in w.draft.item_ids]
    if attached:
        await conn.execute(ATTACH_ITEMS, *map(list, zip(*attached)))
    await balances.append(
        conn,
        [
            balances.Entry(
                w.tenant_id,
                new_id("cbtxn"),
                w.draft.customer_id,
                w.draft.totals.balance_change,
                w.draft.currency,
                w.draft.totals.balance_type,
                w.id,
                None,
                w.draft.created_at,
            )
            for w in written
            if w.draft.totals.balance_change
        ],
    )
    failpoints.hit(failpoints.INVOICES_WRITTEN)
    return written


@dataclass(frozen=True)
class OneInvoice:
    """One invoice (no balance change) about to be written by ONE_INVOICE, its ids given."""

    tenant_id: str
    id: str
    line_ids: list[str]
    draft: InvoiceDraft

    def rendered(self) -> dict[str, Any]:
        """The invoice as the API renders it once written (shared.db.hot_reads), as JSON
        values, but its number: null until `write_one` takes it."""
        d, t = self.draft, self.draft.totals
        columns = {
            "subtotal": t.subtotal,
            "total_discount_amounts": as_json(t.total_discount_amounts),
            "total_excluding_tax": d.total - t.tax,
            "tax": t.tax,
            "total_tax_amounts": as_json(t.total_tax_amounts),
            "total": d.total,
            "customer_tax_exempt": d.tax_exempt.value,
            "tax_note": None,
            "id": self.id,
            "object": "invoice",
            "number": None,
            "customer_id": d.customer_id,
            "subscription_id": d.subscription_id,
            "test_clock": d.test_clock_id,
            "livemode": d.test_clock_id is None,
            "status": d.status.value,
            "billing_reason": d.reason.value,
            "currency": d.currency,
            "period_start": d.period.start,
            "period_end": d.period.end,
            "starting_balance": t.starting_balance,
            "ending_balance": t.ending_balance,
            "amount_due": d.amount_due,
            "amount_paid": d.amount_paid,
            "pre_payment_credit_notes_amount": 0,
            "post_payment_credit_notes_amount": 0,
            "created_at": d.created_at,
            "due_at": d.due_at,
            "finalized_at": d.created_at,
            "paid_at": d.paid_at,
            "voided_at": None,
            "marked_uncollectible_at": None,
        }
        lines = [
            (*line[1:], line_id, "line_item", d.currency)
            for line_id, line in zip(self.line_ids, _lines(d), strict=True)
        ]
        return to_jsonable_python(hot_reads.render_invoice(columns, lines))


def prepare_one(tenant_id: str, d: InvoiceDraft) -> OneInvoice:
    """Ids for one invoice without a balance change, before `write_one` writes it."""
    if d.totals.balance_change:
        raise ValueError("an invoice that changes the customer's balance is written by write_invoices")
    return OneInvoice(tenant_id, new_id("in"), [new_id("il") for _ in d.lines], d)


async def write_one(conn: asyncpg.Connection, one: OneInvoice, numbered_events: Sequence[str] = ()) -> Written:
    """Write `one` in ONE statement, which takes its number (the tenant's or test clock's row
    lock, to the commit) and sets it in the object of `numbered_events` (written before, with
    `one.rendered()`). A test clock deleted meanwhile is a NotFound."""
    d = one.draft
    lines = [(line_id, *line) for line_id, line in zip(one.line_ids, _lines(d), strict=True)]
    columns = list(map(list, zip(*lines))) if lines else [[]] * 10
    number = await conn.fetchval(
        ONE_INVOICE,
        one.tenant_id,
        one.id,
        d.test_clock_id,
        *_decided(d),
        *_priced(d),
        *columns,
        list(d.item_ids),
        list(numbered_events),
    )
    if number is None:  # the clock (with its customers) was deleted while this ran
        raise NotFound(f"no such test clock: '{d.test_clock_id}' (it was deleted)", field="test_clock")
    failpoints.hit(failpoints.NUMBERS_LOCKED)
    failpoints.hit(failpoints.INVOICES_WRITTEN)
    return Written(one.tenant_id, one.id, number, d)


async def _reserve_numbers(conn: asyncpg.Connection, sequences: list[NumberSequence]) -> list[int]:
    """One block of consecutive numbers per sequence, in the documented lock order; the
    numbers for `sequences`, in order. A single row needs no separate lock statement: its
    UPDATE locks it, and with nothing else of its kind there is no order to keep."""
    per_tenant = Counter(tenant_id for tenant_id, clock_id in sequences if clock_id is None)
    per_clock = Counter((tenant_id, clock_id) for tenant_id, clock_id in sequences if clock_id is not None)
    tenants, clocks = sorted(per_tenant), sorted(per_clock)
    firsts: dict[NumberSequence, int] = {}
    if len(tenants) > 1:
        await conn.execute(LOCK_TENANTS, tenants)
    if tenants:
        reserved = await conn.fetch(RESERVE_NUMBERS, tenants, [per_tenant[t] for t in tenants])
        firsts.update({(r["id"], None): r["first"] for r in reserved})
    if clocks:
        tenant_ids, clock_ids = [c[0] for c in clocks], [c[1] for c in clocks]
        if len(clocks) > 1:
            await conn.execute(LOCK_TEST_CLOCKS, tenant_ids, clock_ids)
        reserved = await conn.fetch(RESERVE_TEST_CLOCK_NUMBERS, tenant_ids, clock_ids, [per_clock[c] for c in clocks])
        firsts.update({(r["tenant_id"], r["id"]): r["first"] for r in reserved})
    numbers = []
    for sequence in sequences:
        if sequence not in firsts:  # the clock (with its customers) was deleted while this ran
            raise NotFound(f"no such test clock: '{sequence[1]}' (it was deleted)", field="test_clock")
        numbers.append(firsts[sequence])
        firsts[sequence] += 1
    return numbers


# What a credit note (or its void, with negative amounts) changes on its invoice, locked by
# the caller: the pre-payment part comes off amount_due; `$5` (the note leaves nothing due)
# marks the invoice paid at $6.
CREDIT_INVOICE = """
UPDATE invoices SET amount_due = amount_due - $3,
                    pre_payment_credit_notes_amount = pre_payment_credit_notes_amount + $3,
                    post_payment_credit_notes_amount = post_payment_credit_notes_amount + $4,
                    status = CASE WHEN $5 THEN 'paid' ELSE status END,
                    paid_at = CASE WHEN $5 THEN $6 ELSE paid_at END
WHERE tenant_id = $1 AND id = $2
"""


async def credit_invoice(
    conn: asyncpg.Connection,
    tenant_id: str,
    invoice_id: str,
    *,
    pre_payment: int,
    post_payment: int,
    paid_at: datetime | None = None,
) -> None:
    """Record a credit note on its invoice (the caller holds the invoice's row lock):
    `pre_payment` off amount_due, `post_payment` credited after payment (negative amounts
    for a void); with `paid_at`, the invoice is left paid (nothing is due any more)."""
    await conn.execute(CREDIT_INVOICE, tenant_id, invoice_id, pre_payment, post_payment, paid_at is not None, paid_at)


def record_issued(written: Sequence[Written]) -> None:
    """Count issued invoices and the amounts due, per currency and reason. Call only after
    the commit: rolled-back invoices were never issued."""
    counts: Counter[tuple[str, BillingReason]] = Counter()
    amounts: Counter[tuple[str, BillingReason]] = Counter()
    for w in written:
        key = (w.draft.currency, w.draft.reason)
        counts[key] += 1
        amounts[key] += w.draft.amount_due
    for (currency, reason), count in counts.items():
        metrics.invoice_issued(currency, reason, amounts[(currency, reason)], count)
