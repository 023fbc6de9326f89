"""Tax rate requests and responses, and the default_tax_rates field other objects share."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BeforeValidator, ConfigDict, Field, StringConstraints, WithJsonSchema

from shared.domain.taxes import MAX_RATES, TaxExempt
from shared.schemas.common import Body, Id, ListQuery, Name, Resource


def _no_float_noise(value: object) -> object:
    """A JSON number arrives as a float: read it by its shortest decimal form (7.7, not
    7.70000000000000017763568394002504646778106689453125)."""
    if isinstance(value, bool):
        return value  # refused: a percentage is a number
    return Decimal(repr(value)) if isinstance(value, float | int) else value


def percentage(low: float, high: float, decimals: int, description: str) -> object:
    """A percentage with at most `decimals` decimals, exact (a Decimal, never a float)."""
    return Annotated[
        Decimal,
        BeforeValidator(_no_float_noise),
        Field(ge=Decimal(str(low)), le=Decimal(str(high)), decimal_places=decimals, description=description),
        WithJsonSchema(
            {
                "type": "number",
                "minimum": low,
                "maximum": high,
                "multipleOf": float(f"1e-{decimals}"),
                "description": description,
            }
        ),
    ]


TaxRateIds = Annotated[
    list[Id],
    Field(
        max_length=MAX_RATES,
        json_schema_extra={"uniqueItems": True},
        description="Tax rate ids applied to invoices; the first non-empty list of subscription, plan, customer, "
        "settings wins ([] falls back to the next)",
    ),
]
Text = Annotated[str, StringConstraints(max_length=500)]
Country = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]


class TaxRateCreate(Body):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"display_name": "VAT", "percentage": 19, "inclusive": False, "country": "DE"}]}
    )

    display_name: Name
    percentage: percentage(0, 100, 4, "Up to 4 decimals, e.g. 7.7")  # type: ignore[valid-type]
    inclusive: bool = Field(description="true: included in the prices (carved out); false: added on top")
    jurisdiction: Text | None = None
    country: Country | None = Field(None, description="ISO 3166-1 alpha-2 code")
    description: Text | None = None
    active: bool = True


class TaxRateUpdate(Body):
    """Percentage and inclusive never change (invoices refer to the rate): make a new rate."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"active": False}]})

    display_name: Name | None = None
    jurisdiction: Text | None = None
    country: Country | None = None
    description: Text | None = None
    active: bool | None = None


class TaxRateListQuery(ListQuery):
    active: bool | None = None


class TaxRate(Resource):
    id: str
    object: Literal["tax_rate"] = "tax_rate"
    display_name: str
    percentage: float = Field(description="Up to 4 decimals")
    inclusive: bool
    jurisdiction: str | None
    country: str | None
    description: str | None
    active: bool
    created_at: datetime


TaxExemptField = Annotated[
    TaxExempt,
    Field(description="none; exempt (no tax); reverse (no tax, the invoice notes the customer's reverse charge)"),
]

__all__ = ["TaxExemptField", "TaxRate", "TaxRateCreate", "TaxRateIds", "TaxRateListQuery", "TaxRateUpdate"]
