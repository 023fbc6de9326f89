"""Writing a credit note: its number, the note and its lines in ONE statement, the
transaction's last (the number row's lock is held only from there to the commit, so credit
notes are numbered gap-free, a rollback gives the number back, and concurrent writers of a
tenant do not queue behind a long transaction).

Two sequences, like invoices': the tenant's legal one (`tenants.next_credit_note_number`)
and a test clock's own for the credit notes of its simulated invoices. The caller has
locked the invoice (FOR UPDATE) and the customer's balance rows, and appended the note's
ledger row (shared.db.balances: its foreign key to the note is checked at commit).
"""

from __future__ import annotations

import json
from datetime import datetime

import asyncpg

from shared.db.numbering import next_number
from shared.domain.credit_notes import Draft, NoteLine
from shared.domain.errors import NotFound

INSERT_CREDIT_NOTE = (
    next_number("next_credit_note_number")
    + """note AS (
  INSERT INTO credit_notes (tenant_id, id, number, test_clock_id, invoice_id, customer_id, status, type, reason,
                            memo, currency, subtotal, discount_amount, tax, inclusive_tax, total, discount_amounts,
                            tax_amounts, pre_payment_amount, credit_amount, refund_amount, out_of_band_amount,
                            created_at)
  SELECT $1, $2, n.number, $3::text, $4, $5, 'issued', $6, $7, $8, $9, $10, $11, $12, $13, $14, $15::jsonb,
         $16::jsonb, $17, $18, $19, $20, $21
  FROM numbered n
  RETURNING number
), lines AS (
  INSERT INTO credit_note_lines (tenant_id, id, credit_note_id, invoice_line_id, position, description, amount,
                                 discount_amount, tax, inclusive_tax, discount_amounts, tax_amounts)
  SELECT $1, l.id, $2, l.invoice_line_id, l.position, l.description, l.amount, l.discount_amount, l.tax,
         l.inclusive_tax, l.discount_amounts::jsonb, l.tax_amounts::jsonb
  FROM unnest($22::text[], $23::text[], $24::int[], $25::text[], $26::bigint[], $27::bigint[], $28::bigint[],
              $29::bigint[], $30::text[], $31::text[])
    AS l(id, invoice_line_id, position, description, amount, discount_amount, tax, inclusive_tax,
         discount_amounts, tax_amounts)
  WHERE EXISTS (SELECT FROM note)
)
SELECT number FROM note
"""
)


def as_json(amounts: tuple[object, ...]) -> str:
    return json.dumps([vars(a) for a in amounts])


def _line_columns(line_ids: list[str], lines: tuple[NoteLine, ...]) -> list[list[object]]:
    rows = [
        (
            line_id,
            line.invoice_line,
            position,
            line.description,
            line.amount,
            line.discount_amount,
            line.tax,
            line.inclusive_tax,
            as_json(line.discount_amounts),
            as_json(line.tax_amounts),
        )
        for position, (line_id, line) in enumerate(zip(line_ids, lines))
    ]
    return list(map(list, zip(*rows)))


async def write_credit_note(
    conn: asyncpg.Connection,
    tenant_id: str,
    credit_note_id: str,
    line_ids: list[str],
    *,
    test_clock_id: str | None,
    invoice_id: str,
    customer_id: str,
    currency: str,
    reason: str | None,
    memo: str | None,
    draft: Draft,
    created_at: datetime,
) -> int:
    """Number and store the credit note and its lines (one statement); its number."""
    number = await conn.fetchval(
        INSERT_CREDIT_NOTE,
        tenant_id,
        credit_note_id,
        test_clock_id,
        invoice_id,
        customer_id,
        draft.type.value,
        reason,
        memo,
        currency,
        draft.subtotal,
        draft.discount_amount,
        draft.tax,
        draft.inclusive_tax,
        draft.total,
        as_json(draft.discount_amounts),
        as_json(draft.tax_amounts),
        draft.pre_payment_amount,
        draft.credit_amount,
        draft.refund_amount,
        draft.out_of_band_amount,
        created_at,
        *_line_columns(line_ids, draft.lines),
    )
    if number is None:  # the clock (with its customers) was deleted while this ran
        raise NotFound(f"no such test clock: '{test_clock_id}' (it was deleted)", field="test_clock")
    return int(number)
