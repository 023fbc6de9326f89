"""Customer balances: the append-only ledger (balance_transactions) and the running balance
per (customer, currency) it sums to (customer_balances), written together by one statement.

Whoever applies a balance to an invoice first locks the balance rows (`lock_balances`,
sorted, FOR UPDATE) and keeps them to its commit, so two invoices never spend the same
credit. LOCK ORDER: after the subscription rows (and invoices), before the number sequences.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from shared.domain.invoice_totals import BalanceTransactionType

LOCK_BALANCES = """
SELECT b.tenant_id, b.customer_id, b.currency, b.balance FROM customer_balances b
JOIN unnest($1::text[], $2::text[], $3::text[]) AS v(tenant_id, customer_id, currency)
  ON b.tenant_id = v.tenant_id AND b.customer_id = v.customer_id AND b.currency = v.currency
ORDER BY b.tenant_id, b.customer_id, b.currency
FOR UPDATE OF b
"""

# One statement: the ledger rows, and the balances they add up to (a new balance row is
# created by its first entry). The balance is always the sum of its ledger.
APPEND = """
WITH entries AS (
  INSERT INTO balance_transactions (tenant_id, id, customer_id, amount, currency, type, invoice_id, description,
                                    created_at, credit_note_id)
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::text[],
                       $8::text[], $9::timestamptz[], $10::text[])
  RETURNING tenant_id, customer_id, currency, amount
)
INSERT INTO customer_balances AS b (tenant_id, customer_id, currency, balance)
SELECT tenant_id, customer_id, currency, sum(amount) FROM entries GROUP BY tenant_id, customer_id, currency
ON CONFLICT (tenant_id, customer_id, currency) DO UPDATE SET balance = b.balance + excluded.balance
"""

BalanceKeyOfTenant = tuple[str, str, str]  # (tenant id, customer id, currency)


@dataclass(frozen=True)
class Entry:
    tenant_id: str
    id: str
    customer_id: str
    amount: int  # negative: credit owed to the customer
    currency: str
    type: BalanceTransactionType
    invoice_id: str | None
    description: str | None
    created_at: datetime
    credit_note_id: str | None = None  # type credit_note: the credit note (its row may follow in the transaction)


async def lock_balances(conn: asyncpg.Connection, keys: Sequence[BalanceKeyOfTenant]) -> dict[BalanceKeyOfTenant, int]:
    """The current balances of `keys` (missing: 0), locked until the caller's commit."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    rows = await conn.fetch(LOCK_BALANCES, *map(list, zip(*wanted)))
    return {(r["tenant_id"], r["customer_id"], r["currency"]): r["balance"] for r in rows}


async def append(conn: asyncpg.Connection, entries: Sequence[Entry]) -> None:
    """Append `entries` to the ledger and add them to the balances, in one statement."""
    if not entries:
        return
    rows = [
        (
            e.tenant_id,
            e.id,
            e.customer_id,
            e.amount,
            e.currency,
            e.type.value,
            e.invoice_id,
            e.description,
            e.created_at,
            e.credit_note_id,
        )
        for e in entries
    ]
    await conn.execute(APPEND, *map(list, zip(*rows)))
