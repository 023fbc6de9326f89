"""An invoice's totals from its lines: the one pipeline, lines -> discounts -> taxes ->
balance, used by drafts, the renewal engine and the upcoming preview alike. Each rounding
rule is written once: discounts in shared.domain.discounts, taxes in shared.domain.taxes;
the sums here are exact, so nothing is lost or created:

    subtotal            = sum of the lines (as listed: inclusive tax included)
    total_discount      = sum of the lines' discounts
    total_excluding_tax = subtotal - total_discount - inclusive tax
    tax                 = inclusive + exclusive tax
    total               = total_excluding_tax + tax = subtotal - total_discount + exclusive tax

The customer balance follows Stripe: a negative balance is credit owed to the customer, a
positive one is owed by the customer. Every new invoice applies the balance in its currency:

    amount_due     = max(total + starting_balance, 0)
    ending_balance = min(total + starting_balance, 0)

so a negative total (e.g. a downgrade billed at once) becomes credit instead of being lost,
and credit is consumed by the next invoices until it is gone. Nothing is rounded here: the
lines are already in minor units, so nothing is lost or created.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from shared.domain.discounts import Discount, DiscountAmount, line_discounts
from shared.domain.taxes import TaxAmount, TaxExempt, TaxRate, line_taxes, summed


class BalanceTransactionType(StrEnum):
    PRORATION_CREDIT = "proration_credit"  # an invoice whose total is negative credits the balance
    INVOICE_APPLIED = "invoice_applied"  # an invoice consumed credit (or collected a debit)
    CREDIT_NOTE = "credit_note"
    ADJUSTMENT = "adjustment"  # a manual adjustment through the API


@dataclass(frozen=True)
class LineTotals:
    discount_amounts: tuple[DiscountAmount, ...] = ()
    tax_amounts: tuple[TaxAmount, ...] = ()


@dataclass(frozen=True)
class Totals:
    subtotal: int  # the sum of the lines
    total: int
    starting_balance: int  # the customer's balance in the invoice's currency before it
    ending_balance: int  # ...and after it
    amount_due: int
    total_discount: int = 0
    tax: int = 0  # inclusive and exclusive
    inclusive_tax: int = 0
    lines: tuple[LineTotals, ...] = ()
    total_discount_amounts: tuple[DiscountAmount, ...] = ()
    total_tax_amounts: tuple[TaxAmount, ...] = ()

    @property
    def total_excluding_tax(self) -> int:
        return self.total - self.tax

    def with_balance(self, starting_balance: int) -> Totals:
        """The same invoice applying another starting balance (nothing else changes)."""
        due, ending = apply_balance(self.total, starting_balance)
        return replace(self, starting_balance=starting_balance, ending_balance=ending, amount_due=due)

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


def totals_of(
    amounts: Iterable[int],
    starting_balance: int = 0,
    *,
    plan_ids: Sequence[str | None] = (),
    currency: str = "",
    discount: Discount | None = None,
    tax_rates: Sequence[TaxRate] = (),
    tax_exempt: TaxExempt = TaxExempt.NONE,
) -> Totals:
    """The invoice's totals: lines are rounded (each discount and tax once per line), the
    sums never are. `plan_ids` (one per line) select the lines a discount applies to."""
    amounts = tuple(amounts)
    if discount is None and not tax_rates:  # the plain invoice, the common case
        subtotal = sum(amounts)
        due, ending = apply_balance(subtotal, starting_balance)
        return Totals(subtotal, subtotal, starting_balance, ending, due, lines=(LineTotals(),) * len(amounts))
    totals = _priced(
        amounts, tuple(plan_ids) or (None,) * len(amounts), currency, discount, tuple(tax_rates), tax_exempt
    )
    return totals.with_balance(starting_balance) if starting_balance else totals


# A pure function of immutable values, so each distinct invoice is priced once: a renewal
# run asks for a renewal invoice's totals when it decides which invoices the balance pays
# (shared.domain.renewal.advance) and again when it drafts them, and most invoices of a run
# share their plan, tax rates and discount terms. Bounded; sized above a renewal batch.
@functools.lru_cache(maxsize=16384)
def _priced(
    amounts: tuple[int, ...],
    plan_ids: tuple[str | None, ...],
    currency: str,
    discount: Discount | None,
    tax_rates: tuple[TaxRate, ...],
    tax_exempt: TaxExempt,
) -> Totals:
    """Discounts and taxes of the lines, before any balance (starting balance 0)."""
    off = line_discounts(list(amounts), list(plan_ids), discount, currency)
    lines = []
    for amount, taken in zip(amounts, off):
        discount_amounts = (DiscountAmount(discount.id, taken),) if discount is not None and taken else ()
        lines.append(LineTotals(discount_amounts, line_taxes(amount - taken, tax_rates, tax_exempt)))
    subtotal, total_discount = sum(amounts), sum(off)
    tax_amounts = summed([line.tax_amounts for line in lines])
    inclusive = sum(t.amount for t in tax_amounts if t.inclusive)
    exclusive = sum(t.amount for t in tax_amounts if not t.inclusive)
    total = subtotal - total_discount + exclusive
    due, ending = apply_balance(total, 0)
    return Totals(
        subtotal,
        total,
        0,
        ending,
        due,
        total_discount=total_discount,
        tax=inclusive + exclusive,
        inclusive_tax=inclusive,
        lines=tuple(lines),
        total_discount_amounts=(DiscountAmount(discount.id, total_discount),)
        if discount is not None and total_discount
        else (),
        total_tax_amounts=tax_amounts,
    )
