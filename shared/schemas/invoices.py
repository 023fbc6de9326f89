"""Invoice responses, their lines, the upcoming-invoice preview and the list filters."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AliasChoices, Field, computed_field

from shared.domain.invoices import BillingReason, InvoiceStatus
from shared.domain.taxes import TaxExempt
from shared.schemas.common import Id, ListQuery, Resource


class InvoiceListQuery(ListQuery):
    customer_id: Id | None = None
    subscription_id: Id | None = None
    status: InvoiceStatus | None = None


class DiscountAmount(Resource):
    discount: str
    amount: int = Field(description="Taken off the line (shared.domain.discounts: half-up per line)")


class TaxAmount(Resource):
    tax_rate: str
    amount: int = Field(description="Rounded half-up once per line and rate")
    inclusive: bool
    taxable_amount: int


class LineDetail(Resource):
    description: str
    amount: int = Field(description="Before discounts; with inclusive tax in it")
    period_start: datetime
    period_end: datetime
    plan_id: str | None
    proration: bool
    discount_amounts: list[DiscountAmount]
    tax_amounts: list[TaxAmount]


class InvoiceTotals(Resource):
    """shared.domain.invoice_totals: subtotal - discounts + exclusive tax = total."""

    subtotal: int = Field(description="The sum of the lines")
    total_discount_amounts: list[DiscountAmount]
    total_excluding_tax: int = Field(description="subtotal - discounts - inclusive tax")
    tax: int = Field(description="Inclusive and exclusive tax")
    total_tax_amounts: list[TaxAmount]
    total: int = Field(description="total_excluding_tax + tax")
    customer_tax_exempt: TaxExempt
    tax_note: str | None = Field(description="The reverse-charge note, for a customer with tax_exempt reverse")


class InvoiceLine(LineDetail):
    id: str
    object: Literal["line_item"] = "line_item"
    currency: str


class Invoice(InvoiceTotals):
    id: str
    object: Literal["invoice"] = "invoice"
    number: int
    customer_id: str
    subscription_id: str | None
    test_clock: str | None = Field(
        validation_alias=AliasChoices("test_clock_id", "test_clock"),
        description="The test clock of a simulated invoice (numbered in that clock's own sequence)",
    )
    livemode: bool = Field(description="false for a simulated (test-clock) invoice: its number is not a legal one")
    status: InvoiceStatus
    billing_reason: BillingReason
    currency: str
    period_start: datetime
    period_end: datetime
    starting_balance: int = Field(description="The customer's balance in this currency before the invoice")
    ending_balance: int = Field(description="...and after it (negative: credit owed to the customer)")
    amount_due: int = Field(description="max(total + starting_balance, 0) - pre_payment_credit_notes_amount")
    amount_paid: int
    pre_payment_credit_notes_amount: int = Field(description="What credit notes took off amount_due (open invoice)")
    post_payment_credit_notes_amount: int = Field(
        description="What credit notes credited, refunded or settled out of band once it was paid"
    )
    created_at: datetime
    due_at: datetime | None
    finalized_at: datetime | None
    paid_at: datetime | None
    voided_at: datetime | None
    marked_uncollectible_at: datetime | None
    lines: list[InvoiceLine]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def amount_remaining(self) -> int:
        return self.amount_due - self.amount_paid


class UpcomingInvoice(InvoiceTotals):
    """A preview of the next renewal invoice: nothing is written."""

    object: Literal["upcoming_invoice"] = "upcoming_invoice"
    customer_id: str
    subscription_id: str
    currency: str
    period_start: datetime
    period_end: datetime
    starting_balance: int
    ending_balance: int
    amount_due: int
    lines: list[LineDetail]
