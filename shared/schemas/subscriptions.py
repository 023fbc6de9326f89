"""Subscription requests (create, cancel, change plan) and responses."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AliasChoices, ConfigDict, Field, model_validator

from shared.domain.proration import Proration
from shared.domain.subscriptions import SubscriptionStatus
from shared.schemas.common import (
    EXAMPLE_CUSTOMER_ID,
    EXAMPLE_PLAN_ID,
    Body,
    Id,
    ListQuery,
    Resource,
    whole_number,
)
from shared.schemas.coupons import Discount
from shared.schemas.tax_rates import TaxRateIds


def _create_schema(schema: dict) -> None:
    # The ids are placeholders: use the ones create-customer and create-plan returned.
    schema["examples"] = [{"customer_id": EXAMPLE_CUSTOMER_ID, "plan_id": EXAMPLE_PLAN_ID}]
    schema["not"] = {"required": ["coupon", "promotion_code"]}
    for name in ("coupon", "promotion_code"):  # optional, never null: absent means none
        schema["properties"][name].pop("default", None)


class SubscriptionCreate(Body):
    model_config = ConfigDict(json_schema_extra=_create_schema)

    customer_id: Id
    plan_id: Id
    trial_period_days: whole_number(0, 730) | None = Field(  # type: ignore[valid-type]
        None, description="Overrides the plan's trial; 0 starts billing at once"
    )
    default_tax_rates: TaxRateIds = Field(default_factory=list)
    # Optional but never null (absent: none), so the "not both" rule reads the same in the schema.
    coupon: Id = Field(None, description="A coupon to discount the subscription's invoices")  # type: ignore[assignment]
    promotion_code: Id = Field(None, description="A promotion code's id (instead of coupon)")  # type: ignore[assignment]

    @model_validator(mode="after")
    def _one_discount(self) -> SubscriptionCreate:
        if self.coupon is not None and self.promotion_code is not None:
            raise ValueError("give a coupon or a promotion_code, not both")
        return self


class SubscriptionListQuery(ListQuery):
    customer_id: Id | None = None
    status: SubscriptionStatus | None = None


class Subscription(Resource):
    id: str
    object: Literal["subscription"] = "subscription"
    customer_id: str
    plan_id: str
    status: SubscriptionStatus
    billing_cycle_anchor: datetime
    current_period_start: datetime
    current_period_end: datetime
    trial_end: datetime | None
    paused_at: datetime | None
    test_clock: str | None = Field(validation_alias=AliasChoices("test_clock_id", "test_clock"))
    livemode: bool = Field(description="false for a test clock's simulated object, true for a real one")
    cancel_at_period_end: bool
    canceled_at: datetime | None
    ended_at: datetime | None
    default_tax_rates: list[str]
    created_at: datetime
    discount: Discount | None = Field(
        description="The running discount (coupon, promotion code, periods left; null: none)"
    )


class CancelSubscription(Body):
    model_config = ConfigDict(json_schema_extra={"examples": [{"at_period_end": True}]})

    at_period_end: bool = Field(False, description="Keep it until the current period ends, then cancel")


class ChangePlan(Body):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"plan_id": EXAMPLE_PLAN_ID, "proration": "create_prorations"},
            ]
        }
    )

    plan_id: Id
    proration: Proration = Proration.CREATE_PRORATIONS
