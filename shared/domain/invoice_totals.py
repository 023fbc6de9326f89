"""An invoice's totals from its lines, and the customer balance it applies: the one place
these rules are written (drafts, the renewal engine and the upcoming preview all use it).

The customer balance follows Stripe: a negative balance is credit owed to the customer, a
positive one is owed by the customer. Every new invoice applies the balance in its currency:

    amount_due     = max(total + starting_balance, 0)
    ending_balance = min(total + starting_balance, 0)

so a negative total (e.g. a downgrade billed at once) becomes credit instead of being lost,
and credit is consumed by the next invoices until it is gone. Nothing is rounded here: the
lines are already in minor units, so nothing is lost or created.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class BalanceTransactionType(StrEnum):
    PRORATION_CREDIT = "proration_credit"  # an invoice whose total is negative credits the balance
    INVOICE_APPLIED = "invoice_applied"  # an invoice consumed credit (or collected a debit)
    CREDIT_NOTE = "credit_note"
    ADJUSTMENT = "adjustment"  # a manual adjustment through the API


@dataclass(frozen=True)
class Totals:
    subtotal: int  # the sum of the lines
    total: int
    starting_balance: int  # the customer's balance in the invoice's currency before it
    ending_balance: int  # ...and after it
    amount_due: int

    @property
    def balance_change(self) -> int:
        """What the invoice adds to the customer's ledger (0: no ledger entry)."""
        return self.ending_balance - self.starting_balance

    @property
    def balance_type(self) -> BalanceTransactionType:
        return BalanceTransactionType.PRORATION_CREDIT if self.total < 0 else BalanceTransactionType.INVOICE_APPLIED


def apply_balance(total: int, starting_balance: int) -> tuple[int, int]:
    """(amount due, ending balance) of an invoice of `total` given the customer's balance."""
    combined = total + starting_balance
    return max(combined, 0), min(combined, 0)


def totals_of(amounts: Iterable[int], starting_balance: int = 0) -> Totals:
    """The invoice total is the sum of its lines: lines are rounded, the total never is."""
    subtotal = sum(amounts)
    due, ending = apply_balance(subtotal, starting_balance)
    return Totals(subtotal, subtotal, starting_balance, ending, due)
