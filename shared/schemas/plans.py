"""Plan requests and responses: price in minor units, interval and trial."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StringConstraints, model_validator

from shared.domain.periods import MAX_INTERVAL_COUNT, Interval
from shared.schemas.common import Amount, Body, CurrencyField, ListQuery, Name, Resource, whole_number
from shared.schemas.tax_rates import TaxRateIds

IntervalName = Literal["day", "week", "month", "year"]
Code = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]


def _plan_schema(schema: dict) -> None:
    """Document the per-interval limit of interval_count that _at_most_three_years enforces, and
    a realistic plan (Swagger would otherwise offer the maximum amount, daily)."""
    schema["examples"] = [
        {
            "code": "pro-monthly",
            "name": "Pro",
            "amount": 2900,
            "currency": "USD",
            "interval": "month",
            "interval_count": 1,
            "trial_period_days": 14,
        }
    ]
    schema["allOf"] = [
        {
            "if": {"properties": {"interval": {"const": interval.value}}, "required": ["interval"]},
            "then": {"properties": {"interval_count": {"maximum": limit}}},
        }
        for interval, limit in MAX_INTERVAL_COUNT.items()
    ]


DecimalAmount = Annotated[
    int | Annotated[str, StringConstraints(max_length=40)],
    Field(description='Minor units: an integer or a decimal string such as "0.25" (at most 12 decimals)'),
]


class TierIn(Body):
    up_to: int | Literal["inf"] | Annotated[str, StringConstraints(max_length=40)] = Field(
        description='The upper bound of the tier (inclusive); "inf" in the last tier'
    )
    unit_amount: DecimalAmount = 0
    flat_amount: DecimalAmount = 0


class UsageChargeIn(Body):
    meter: Code = Field(description="The meter's code")
    model: Literal["per_unit", "graduated", "volume", "package"]
    unit_amount: DecimalAmount | None = None
    tiers: list[TierIn] | None = Field(None, max_length=20)
    package_size: whole_number(1, 10**12) | None = None  # type: ignore[valid-type]


class PlanCreate(Body, CurrencyField):
    model_config = ConfigDict(json_schema_extra=_plan_schema)

    code: Code = Field(description="Your unique identifier for the plan, e.g. 'pro-monthly'")
    name: Name
    amount: Amount
    interval: IntervalName
    interval_count: whole_number(  # type: ignore[valid-type]
        1, max(MAX_INTERVAL_COUNT.values()), description="Bill every interval_count intervals (at most 3 years)"
    ) = 1
    trial_period_days: whole_number(0, 730) = 0  # type: ignore[valid-type]
    usage_charges: list[UsageChargeIn] = Field(
        default_factory=list, max_length=20, description="Metered usage, billed in arrears (one charge per meter)"
    )
    default_tax_rates: TaxRateIds = Field(default_factory=list)

    @model_validator(mode="after")
    def _at_most_three_years(self) -> PlanCreate:
        limit = MAX_INTERVAL_COUNT[Interval(self.interval)]
        if self.interval_count > limit:
            raise ValueError(f"interval_count for interval '{self.interval}' must be at most {limit} (3 years)")
        return self


class PlanUpdate(Body):
    """Only the fields given change. The price, currency and cadence never do (make a new
    plan); default_tax_rates apply to invoices issued from now on ([]: none, the customer's
    or the settings' apply)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"name": "Pro (2026)", "default_tax_rates": []}]})

    name: Name | None = None
    default_tax_rates: TaxRateIds | None = None


class PlanListQuery(ListQuery):
    active: bool | None = None


class Plan(Resource):
    id: str
    object: Literal["plan"] = "plan"
    code: str
    name: str
    amount: int
    currency: str
    interval: IntervalName
    interval_count: int
    trial_period_days: int
    usage_charges: list[dict[str, Any]]
    active: bool
    archived_at: datetime | None
    default_tax_rates: list[str]
    created_at: datetime
