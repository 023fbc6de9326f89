"""Tax rates on invoice lines: which rates apply, and the tax of one line. The rules
(applied by shared.domain.invoice_totals, the one totals pipeline):

- The rates of an invoice are the first non-empty `default_tax_rates` of, most specific
  first: the subscription, the plan, the customer, the tenant's settings.
- A customer `tax_exempt: exempt` pays no tax; `reverse` pays none either, and its
  invoices say the customer accounts for it (reverse charge).
- Tax is computed per line on the line's amount after discounts, rounded half-up once
  per line and rate (shared.domain.money.divide_half_up).
- An exclusive rate adds `amount * p / 100` on top. Inclusive rates are carved out of
  the amount: with inclusive percentages p1..pn (sum P), rate i's tax is
  `amount * pi / (100 + P)`; what is left once they are carved out is the taxable
  amount, on which exclusive rates are then computed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from shared.domain.money import PERCENT_SCALE, percent_of


class TaxExempt(StrEnum):
    NONE = "none"
    EXEMPT = "exempt"
    REVERSE = "reverse"


REVERSE_CHARGE_NOTE = "Reverse charge: the customer accounts for the tax (no tax charged)"
MAX_RATES = 10  # default_tax_rates lists at most this many rates


@dataclass(frozen=True)
class TaxRate:
    id: str
    percentage: int  # units of 1/10,000 % (shared.domain.money.PERCENT_SCALE): 19% = 190_000
    inclusive: bool


@dataclass(frozen=True)
class TaxAmount:
    tax_rate: str
    amount: int
    inclusive: bool
    taxable_amount: int


def tax_note(exempt: TaxExempt) -> str | None:
    """What an invoice says about its tax for a customer with this `tax_exempt`."""
    return REVERSE_CHARGE_NOTE if exempt is TaxExempt.REVERSE else None


def most_specific(*levels: Sequence[str]) -> tuple[str, ...]:
    """The first non-empty list of rate ids, levels given most specific first."""
    for rates in levels:
        if rates:
            return tuple(rates)
    return ()


def line_taxes(amount: int, rates: Sequence[TaxRate], exempt: TaxExempt = TaxExempt.NONE) -> tuple[TaxAmount, ...]:
    """The tax of one line whose amount after discounts is `amount`, one entry per rate
    (inclusive rates first, then exclusive, each in the order given)."""
    if not rates or exempt is not TaxExempt.NONE:
        return ()
    inclusive = [r for r in rates if r.inclusive]
    carved_base = 100 * PERCENT_SCALE + sum(r.percentage for r in inclusive)
    carved = [percent_of(amount, r.percentage, carved_base) for r in inclusive]
    taxable = amount - sum(carved)
    return (
        *(TaxAmount(r.id, tax, True, taxable) for r, tax in zip(inclusive, carved)),
        *(TaxAmount(r.id, percent_of(taxable, r.percentage), False, taxable) for r in rates if not r.inclusive),
    )


def summed(per_line: Sequence[Sequence[TaxAmount]]) -> tuple[TaxAmount, ...]:
    """The invoice's tax per rate: each rate's line amounts and taxable amounts summed
    (nothing is rounded again), in the order the rates first appear."""
    totals: dict[str, TaxAmount] = {}
    for amounts in per_line:
        for t in amounts:
            seen = totals.get(t.tax_rate)
            totals[t.tax_rate] = (
                t
                if seen is None
                else TaxAmount(t.tax_rate, seen.amount + t.amount, t.inclusive, seen.taxable_amount + t.taxable_amount)
            )
    return tuple(totals.values())
