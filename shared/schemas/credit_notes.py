"""Credit notes: the create/preview body, the credit note and its lines, the list filters."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BeforeValidator, ConfigDict, Field, StringConstraints, model_validator

from shared.domain.credit_notes import (
    CreditNoteReason,
    CreditNoteStatus,
    CreditNoteType,
    LineRequest,
    Request,
    number_label,
)
from shared.domain.money import MAX_AMOUNT
from shared.schemas.common import Body, Id, ListQuery, Resource, whole_number
from shared.schemas.invoices import DiscountAmount, TaxAmount


def _absent_means_none(schema: dict, *names: str) -> None:
    for name in names:
        schema["properties"][name].pop("default", None)


def _line_schema(schema: dict) -> None:
    _absent_means_none(schema, "amount", "quantity")
    schema["oneOf"] = [
        {"required": ["amount"], "not": {"required": ["quantity"]}},
        {"required": ["quantity"], "not": {"required": ["amount"]}},
    ]


class CreditNoteLineParams(Body):
    model_config = ConfigDict(json_schema_extra=_line_schema)

    invoice_line: Id = Field(description="The invoice line (line_item) to credit")
    amount: whole_number(  # type: ignore[valid-type]
        1, MAX_AMOUNT, "How much of the line's amount to credit (before discounts; inclusive tax in it)"
    ) = None
    quantity: whole_number(1, 1, "Invoice lines have quantity 1: 1 credits what is left of the line") = None  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _amount_or_quantity(self) -> Any:
        if (self.amount is None) == (self.quantity is None):
            raise ValueError("give each line either an amount or a quantity")
        return self


def _create_schema(schema: dict) -> None:
    """Document the rule _lines_or_amount enforces, and a realistic example."""
    _absent_means_none(
        schema, "lines", "amount", "reason", "credit_amount", "refund_amount", "out_of_band_amount", "memo"
    )
    schema["oneOf"] = [
        {"required": ["lines"], "not": {"required": ["amount"]}},
        {"required": ["amount"], "not": {"required": ["lines"]}},
    ]
    schema["examples"] = [
        {"invoice": "in_06h180x99813x6rg577m620tv9", "amount": 1000, "reason": "product_unsatisfactory"}
    ]


Memo = Annotated[str, StringConstraints(max_length=500)]


class CreditNoteCreate(Body):
    model_config = ConfigDict(json_schema_extra=_create_schema)

    invoice: Id = Field(description="The open or paid invoice to credit")
    lines: list[CreditNoteLineParams] = Field(
        None,  # type: ignore[arg-type]
        min_length=1,
        max_length=100,
        description="What to credit, line by line",
    )
    amount: whole_number(  # type: ignore[valid-type]
        1, MAX_AMOUNT, "Instead of lines: the credit note's total, spread over the invoice's lines in proportion"
    ) = None
    reason: CreditNoteReason | None = None
    credit_amount: whole_number(0, MAX_AMOUNT, "To the customer balance") = None  # type: ignore[valid-type]
    refund_amount: whole_number(  # type: ignore[valid-type]
        0, MAX_AMOUNT, "Refunded (recorded: paid invoices only, at most what was paid)"
    ) = None
    out_of_band_amount: whole_number(0, MAX_AMOUNT, "Settled outside this system") = None  # type: ignore[valid-type]
    memo: Memo | None = None

    @model_validator(mode="after")
    def _lines_or_amount(self) -> Any:
        if (self.lines is None) == (self.amount is None):
            raise ValueError("give either lines or amount (the credit note's total)")
        return self

    def request(self) -> Request:
        """What the domain decides on (shared.domain.credit_notes)."""
        return Request(
            tuple(LineRequest(line.invoice_line, line.amount, line.quantity) for line in self.lines or ()),
            self.amount,
            self.credit_amount,
            self.refund_amount,
            self.out_of_band_amount,
        )


class CreditNoteListQuery(ListQuery):
    invoice: Id | None = None
    customer: Id | None = None


def _label(value: Any) -> Any:
    return number_label(value) if isinstance(value, int) else value


class CreditNoteLineAmounts(Resource):
    invoice_line_item: str = Field(
        validation_alias=AliasChoices("invoice_line_id", "invoice_line_item", "invoice_line")
    )
    description: str
    amount: int = Field(description="The credited part of the line's amount")
    discount_amount: int
    discount_amounts: list[DiscountAmount]
    tax_amounts: list[TaxAmount]


class CreditNoteLine(CreditNoteLineAmounts):
    id: str
    object: Literal["credit_note_line_item"] = "credit_note_line_item"


class CreditNoteAmounts(Resource):
    """shared.domain.credit_notes: total = subtotal - discount_amount + exclusive tax, and
    pre_payment_amount + credit_amount + refund_amount + out_of_band_amount = total."""

    invoice: str = Field(validation_alias=AliasChoices("invoice_id", "invoice"))
    customer: str = Field(validation_alias=AliasChoices("customer_id", "customer"))
    currency: str
    type: CreditNoteType
    reason: CreditNoteReason | None
    memo: str | None
    subtotal: int = Field(description="The credited line amounts")
    discount_amount: int
    discount_amounts: list[DiscountAmount]
    tax: int = Field(description="Inclusive and exclusive tax reversed")
    tax_amounts: list[TaxAmount]
    total_excluding_tax: int
    total: int
    amount: int = Field(description="The total (Stripe's name)")
    pre_payment_amount: int = Field(description="Taken off the open invoice's amount_due")
    post_payment_amount: int = Field(description="credit_amount + refund_amount + out_of_band_amount")
    credit_amount: int = Field(description="Credited to the customer balance")
    refund_amount: int = Field(description="Refunded (recorded out of band: no payment processor)")
    out_of_band_amount: int


class CreditNote(CreditNoteAmounts):
    id: str
    object: Literal["credit_note"] = "credit_note"
    number: Annotated[str, BeforeValidator(_label)] = Field(description="Gap-free per tenant: CN-000001")
    status: CreditNoteStatus
    test_clock: str | None = Field(validation_alias=AliasChoices("test_clock_id", "test_clock"))
    livemode: bool
    created_at: datetime
    voided_at: datetime | None
    lines: list[CreditNoteLine]


class CreditNotePreview(CreditNoteAmounts):
    """What POST /v1/credit_notes would issue now: nothing is written."""

    object: Literal["credit_note_preview"] = "credit_note_preview"
    lines: list[CreditNoteLineAmounts]
