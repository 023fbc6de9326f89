"""Customer balance transactions: manual adjustments in, ledger entries out."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AliasChoices, ConfigDict, Field, StringConstraints, field_validator

from shared.domain.invoice_totals import BalanceTransactionType
from shared.domain.money import MAX_AMOUNT
from shared.schemas.common import Body, CurrencyField, Resource, whole_number


def _adjustment_schema(schema: dict) -> None:
    """Document the non-zero rule that _nonzero enforces, and a realistic example."""
    schema["properties"]["amount"]["not"] = {"const": 0}
    schema["examples"] = [{"amount": -500, "currency": "USD", "description": "Goodwill credit"}]


class BalanceTransactionCreate(Body, CurrencyField):
    model_config = ConfigDict(json_schema_extra=_adjustment_schema)

    amount: whole_number(  # type: ignore[valid-type]
        -MAX_AMOUNT,
        MAX_AMOUNT,
        "Minor units, not 0: negative credits the customer (applied to its next invoices), positive debits it",
    )
    description: Annotated[str, StringConstraints(max_length=500)] | None = None

    @field_validator("amount")
    @classmethod
    def _nonzero(cls, value: int) -> int:
        if value == 0:
            raise ValueError("an adjustment of 0 changes nothing: give a negative (credit) or positive amount")
        return value


class BalanceTransaction(Resource):
    id: str
    object: Literal["customer_balance_transaction"] = "customer_balance_transaction"
    customer: str = Field(validation_alias=AliasChoices("customer_id", "customer"))
    amount: int
    currency: str
    type: BalanceTransactionType
    invoice: str | None = Field(validation_alias=AliasChoices("invoice_id", "invoice"))
    credit_note: str | None = Field(None, validation_alias=AliasChoices("credit_note_id", "credit_note"))
    description: str | None
    created_at: datetime
