"""Credit notes: what a correction of an issued invoice credits, how it reverses the invoice's
discounts and taxes, and where the credited money goes. Pure: the service loads the invoice
(locked) and what its credit notes already credited, decides here, then writes.

Rules (Stripe's model):

- An OPEN invoice gets a pre-payment credit note: it takes its amount off `amount_due`
  (`pre_payment_amount`); a part may instead go to the customer balance (`credit_amount`,
  e.g. what the starting balance already paid) or be settled out of band. By default as
  much as is still due comes off `amount_due`, the rest is credited to the balance. Nothing
  was paid, so nothing is refunded (`refund_amount` > 0: 422). A credit note that brings
  `amount_due` to 0 leaves the invoice paid (as an invoice the balance pays in full is).
- A PAID invoice gets a post-payment credit note: its total is split into `credit_amount`
  (customer balance, a `credit_note` ledger row), `refund_amount` (recorded: there is no
  payment processor; never more than was paid, counting earlier refunds) and
  `out_of_band_amount`. Given any of the three, they must sum to the total (422 otherwise);
  given none, it all goes to the balance.
- Draft, void and uncollectible invoices cannot be credited (409).
- The total credited by an invoice's credit notes (not void) never exceeds its total (409),
  and a line is never credited beyond its amount (409).
- Lines: `[{invoice_line, amount}]` credits `amount` of the line's amount (as the invoice
  lists it: before discounts, with inclusive tax in it; Stripe's line `amount`);
  `{invoice_line, quantity: 1}` credits what is left of the line (invoice lines have
  quantity 1). `amount` alone (no lines) is the credit note's total, spread over the lines
  in proportion to what is left of their totals by the largest-remainder method
  (shared.domain.discounts.spread), so the line shares sum exactly to it.
- THE REVERSAL RULE (the one rounding here): a line's discount and each of its taxes are
  reversed cumulatively. Once a line is credited up to the fraction f of its base (its
  amount for `lines`, its total for `amount`), what its credit notes reversed of a part P
  (discount, tax per rate, taxable amount) is `P * f` rounded half-up
  (shared.domain.money.divide_half_up), never less than before nor more than P; this
  note's part is that minus what earlier notes reversed. So a full credit of a line reverses
  exactly its discount and taxes, partial ones never more, and nothing is lost or created
  by rounding: a note's line total is `amount - discount + exclusive tax` exactly.
- Voiding a credit note (Stripe's rule) restores what it changed: its `pre_payment_amount`
  back on `amount_due` (only while the invoice is still open: 409 otherwise) and its credit
  taken back from the balance with a new ledger row (never an update). Refused (409) when
  the customer's balance no longer holds that credit (an invoice consumed it) and when
  the note recorded a refund (the money went back to the customer).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from shared.domain.discounts import DiscountAmount, spread
from shared.domain.errors import Conflict, Invalid
from shared.domain.invoices import InvoiceStatus
from shared.domain.money import divide_half_up
from shared.domain.taxes import TaxAmount, summed


class CreditNoteReason(StrEnum):
    DUPLICATE = "duplicate"
    FRAUDULENT = "fraudulent"
    ORDER_CHANGE = "order_change"
    PRODUCT_UNSATISFACTORY = "product_unsatisfactory"


class CreditNoteType(StrEnum):
    PRE_PAYMENT = "pre_payment"  # the invoice was open: amount_due went down
    POST_PAYMENT = "post_payment"  # the invoice was paid: credit, refund or out of band


class CreditNoteStatus(StrEnum):
    ISSUED = "issued"
    VOID = "void"


NUMBER_PREFIX = "CN-"


def number_label(number: int) -> str:
    """A credit note's number as shown: CN-000001."""
    return f"{NUMBER_PREFIX}{number:06d}"


@dataclass(frozen=True)
class Credited:
    """What the credit notes (not void) of one invoice line already credited and reversed."""

    amount: int = 0  # of the line's amount
    net: int = 0  # of the line's total (amount - discount + exclusive tax)
    discounts: Mapping[str, int] = field(default_factory=dict)  # per discount
    taxes: Mapping[str, tuple[int, int]] = field(default_factory=dict)  # per tax rate: (amount, taxable)

    def plus(self, line: NoteLine) -> Credited:
        discounts = dict(self.discounts)
        for d in line.discount_amounts:
            discounts[d.discount] = discounts.get(d.discount, 0) + d.amount
        taxes = dict(self.taxes)
        for t in line.tax_amounts:
            amount, taxable = taxes.get(t.tax_rate, (0, 0))
            taxes[t.tax_rate] = (amount + t.amount, taxable + t.taxable_amount)
        return Credited(self.amount + line.amount, self.net + line.total, discounts, taxes)


@dataclass(frozen=True)
class InvoiceLine:
    id: str
    description: str
    amount: int
    discount_amounts: tuple[DiscountAmount, ...] = ()
    tax_amounts: tuple[TaxAmount, ...] = ()
    credited: Credited = Credited()

    @property
    def discount(self) -> int:
        return sum(d.amount for d in self.discount_amounts)

    @property
    def net(self) -> int:
        """The line's total: amount - discount + exclusive tax."""
        return self.amount - self.discount + sum(t.amount for t in self.tax_amounts if not t.inclusive)


@dataclass(frozen=True)
class Invoice:
    status: InvoiceStatus
    total: int
    amount_due: int
    amount_paid: int
    lines: tuple[InvoiceLine, ...]
    credited: int = 0  # pre + post payment amounts of its credit notes (not void)
    refunded: int = 0  # refund amounts of its credit notes (not void)


@dataclass(frozen=True)
class LineRequest:
    invoice_line: str
    amount: int | None = None
    quantity: int | None = None


@dataclass(frozen=True)
class Request:
    lines: tuple[LineRequest, ...] = ()
    amount: int | None = None  # the credit note's total, spread over the lines
    credit_amount: int | None = None
    refund_amount: int | None = None
    out_of_band_amount: int | None = None


@dataclass(frozen=True)
class NoteLine:
    invoice_line: str
    description: str
    amount: int
    discount_amounts: tuple[DiscountAmount, ...]
    tax_amounts: tuple[TaxAmount, ...]

    @property
    def discount_amount(self) -> int:
        return sum(d.amount for d in self.discount_amounts)

    @property
    def tax(self) -> int:
        return sum(t.amount for t in self.tax_amounts)

    @property
    def inclusive_tax(self) -> int:
        return sum(t.amount for t in self.tax_amounts if t.inclusive)

    @property
    def total(self) -> int:
        return self.amount - self.discount_amount + self.tax - self.inclusive_tax


@dataclass(frozen=True)
class Draft:
    type: CreditNoteType
    lines: tuple[NoteLine, ...]
    pre_payment_amount: int
    credit_amount: int
    refund_amount: int
    out_of_band_amount: int
    amount_due_after: int  # the invoice's amount_due once this note is issued
    pays_invoice: bool  # the note leaves nothing due on an open invoice: it becomes paid

    @property
    def subtotal(self) -> int:
        return sum(line.amount for line in self.lines)

    @property
    def discount_amount(self) -> int:
        return sum(line.discount_amount for line in self.lines)

    @property
    def tax(self) -> int:
        return sum(line.tax for line in self.lines)

    @property
    def inclusive_tax(self) -> int:
        return sum(line.inclusive_tax for line in self.lines)

    @property
    def total(self) -> int:
        return self.subtotal - self.discount_amount + self.tax - self.inclusive_tax

    @property
    def post_payment_amount(self) -> int:
        return self.credit_amount + self.refund_amount + self.out_of_band_amount

    @property
    def discount_amounts(self) -> tuple[DiscountAmount, ...]:
        totals: dict[str, int] = {}
        for line in self.lines:
            for d in line.discount_amounts:
                totals[d.discount] = totals.get(d.discount, 0) + d.amount
        return tuple(DiscountAmount(k, v) for k, v in totals.items())

    @property
    def tax_amounts(self) -> tuple[TaxAmount, ...]:
        return summed([line.tax_amounts for line in self.lines])


def _reversed(part: int, done: int, num: int, den: int) -> int:
    """THE REVERSAL RULE: this note's share of `part` (a discount, a tax, a taxable amount)
    once the line is credited up to num/den of its base, `done` reversed before."""
    after = divide_half_up(part * num, den)
    low, high = (done, part) if part >= done else (part, done)
    return min(max(after, low), high) - done


def _line_by_fraction(
    line: InvoiceLine, num: int, den: int
) -> tuple[tuple[DiscountAmount, ...], tuple[TaxAmount, ...]]:
    c = line.credited
    discounts = tuple(
        DiscountAmount(d.discount, _reversed(d.amount, c.discounts.get(d.discount, 0), num, den))
        for d in line.discount_amounts
    )
    taxes = []
    for t in line.tax_amounts:
        amount, taxable = c.taxes.get(t.tax_rate, (0, 0))
        taxes.append(
            TaxAmount(
                t.tax_rate,
                _reversed(t.amount, amount, num, den),
                t.inclusive,
                _reversed(t.taxable_amount, taxable, num, den),
            )
        )
    return discounts, tuple(taxes)


def credit_line(line: InvoiceLine, amount: int) -> NoteLine:
    """Credit `amount` of the line's amount (what is left of it at most: 409 beyond)."""
    left = line.amount - line.credited.amount
    if amount > left:
        raise Conflict(f"invoice line '{line.id}' has {max(left, 0)} left to credit, not {amount}", field="lines")
    discounts, taxes = _line_by_fraction(line, line.credited.amount + amount, line.amount)
    return NoteLine(line.id, line.description, amount, discounts, taxes)


def credit_line_total(line: InvoiceLine, total: int) -> NoteLine:
    """Credit `total` of the line's total (a share of a credit note's `amount`): the parts
    follow the reversal rule on the line's total, and the amount is what makes them add up."""
    discounts, taxes = _line_by_fraction(line, line.credited.net + total, line.net)
    exclusive = sum(t.amount for t in taxes if not t.inclusive)
    amount = total + sum(d.amount for d in discounts) - exclusive
    return NoteLine(line.id, line.description, amount, discounts, taxes)


def _note_lines(invoice: Invoice, request: Request) -> tuple[NoteLine, ...]:
    if (request.amount is None) == (not request.lines):
        raise Invalid("give either lines or amount (the credit note's total)", field="lines")
    if request.amount is not None:
        left = [max(line.net - line.credited.net, 0) if line.amount > 0 else 0 for line in invoice.lines]
        if request.amount > sum(left):
            raise Conflict(f"the invoice's lines have {sum(left)} left to credit, not {request.amount}", field="amount")
        shares = spread(request.amount, left)
        return tuple(credit_line_total(line, share) for line, share in zip(invoice.lines, shares) if share)
    by_id = {line.id: line for line in invoice.lines}
    seen: set[str] = set()
    lines = []
    for wanted in request.lines:
        line = by_id.get(wanted.invoice_line)
        if line is None:
            raise Invalid(f"the invoice has no line '{wanted.invoice_line}'", field="lines")
        if line.id in seen:
            raise Invalid(f"invoice line '{line.id}' is named twice", field="lines")
        seen.add(line.id)
        if (wanted.amount is None) == (wanted.quantity is None):
            raise Invalid("give each line either an amount or a quantity", field="lines")
        if line.amount <= 0:
            raise Invalid(f"invoice line '{line.id}' is a credit itself: it cannot be credited", field="lines")
        if wanted.quantity is not None and wanted.quantity != 1:
            raise Invalid("invoice lines have quantity 1: quantity 1 credits what is left of the line", field="lines")
        amount = wanted.amount if wanted.amount is not None else line.amount - line.credited.amount
        if amount <= 0:
            raise Conflict(f"invoice line '{line.id}' is credited in full already", field="lines")
        lines.append(credit_line(line, amount))
    return tuple(lines)


def decide(invoice: Invoice, request: Request) -> Draft:
    """The credit note `request` asks for on `invoice`, or the reason it cannot be issued."""
    if invoice.status not in (InvoiceStatus.OPEN, InvoiceStatus.PAID):
        raise Conflict(
            f"a {invoice.status.value} invoice cannot be credited (only open and paid ones)", field="invoice"
        )
    lines = _note_lines(invoice, request)
    total = sum(line.total for line in lines)
    if total <= 0:
        raise Invalid("the credit note would credit nothing (the lines' discounts take all of it)", field="lines")
    creditable = max(invoice.total, 0) - invoice.credited
    if total > creditable:
        raise Conflict(
            f"the invoice has {max(creditable, 0)} left to credit (total {invoice.total}, credited "
            f"{invoice.credited}): a credit note of {total} would exceed it",
            field="invoice",
        )
    credit, refund, out_of_band = request.credit_amount, request.refund_amount, request.out_of_band_amount
    if invoice.status is InvoiceStatus.OPEN:
        if refund:
            raise Invalid("nothing was paid on an open invoice: refund_amount must be 0", field="refund_amount")
        due = invoice.amount_due - invoice.amount_paid
        if credit is None and out_of_band is None:
            pre = min(total, due)
            credit = total - pre
        else:
            pre = total - (credit or 0) - (out_of_band or 0)
            if pre < 0:
                raise Invalid(
                    f"credit_amount + out_of_band_amount exceed the credit note's total {total}", field="credit_amount"
                )
            if pre > due:
                raise Conflict(
                    f"the invoice has {due} due: credit the remaining {pre - due} to the balance (credit_amount)",
                    field="credit_amount",
                )
        return Draft(
            CreditNoteType.PRE_PAYMENT,
            lines,
            pre,
            credit or 0,
            0,
            out_of_band or 0,
            invoice.amount_due - pre,
            invoice.amount_due - pre == 0,
        )
    if credit is None and refund is None and out_of_band is None:
        credit = total
    credit, refund, out_of_band = credit or 0, refund or 0, out_of_band or 0
    if credit + refund + out_of_band != total:
        raise Invalid(
            f"credit_amount + refund_amount + out_of_band_amount ({credit + refund + out_of_band}) must equal "
            f"the credit note's total {total}",
            field="credit_amount",
        )
    refundable = invoice.amount_paid - invoice.refunded
    if refund > refundable:
        raise Conflict(f"{refundable} of the invoice's payment is left to refund, not {refund}", field="refund_amount")
    return Draft(CreditNoteType.POST_PAYMENT, lines, 0, credit, refund, out_of_band, invoice.amount_due, False)


def check_voidable(
    status: CreditNoteStatus,
    *,
    pre_payment_amount: int,
    credit_amount: int,
    refund_amount: int,
    invoice_status: InvoiceStatus,
    balance: int,
) -> None:
    """Conflict with the reason when a credit note cannot be voided (`balance`: the
    customer's balance in the note's currency now, negative: credit)."""
    if status is CreditNoteStatus.VOID:
        raise Conflict("the credit note is void already", field="id")
    if refund_amount:
        raise Conflict("the credit note recorded a refund: the money went back, it cannot be voided", field="id")
    if pre_payment_amount and invoice_status is not InvoiceStatus.OPEN:
        raise Conflict(f"the invoice is {invoice_status.value} now: its amount due cannot be restored", field="id")
    if credit_amount and balance + credit_amount > 0:
        raise Conflict(
            f"the customer's balance ({balance}) no longer holds the {credit_amount} this note credited: "
            "invoices used it",
            field="id",
        )


def credited_of(lines: Sequence[tuple[str, NoteLine]]) -> dict[str, Credited]:
    """Per invoice line id: what the given (invoice line id, credit note line) pairs credited."""
    found: dict[str, Credited] = {}
    for line_id, line in lines:
        found[line_id] = found.get(line_id, Credited()).plus(line)
    return found
