"""Coupons, promotion codes and the discounts they give subscriptions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AliasChoices, ConfigDict, Field, StringConstraints, model_validator

from shared.domain.discounts import Duration
from shared.domain.money import MAX_AMOUNT
from shared.schemas.common import Body, Id, ListQuery, Resource, whole_number
from shared.schemas.tax_rates import percentage

Code = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$")]


class AppliesTo(Body):
    plans: list[Id] = Field(min_length=1, max_length=100, description="The plans whose lines the coupon discounts")


def _absent_means_none(schema: dict, *names: str) -> None:
    """These fields are optional but never null: absent is how a body says "none"."""
    for name in names:
        schema["properties"][name].pop("default", None)


def _coupon_schema(schema: dict) -> None:
    """Document the rules _consistent enforces: percent_off or amount_off (with currency),
    duration_in_periods exactly for repeating coupons."""
    _absent_means_none(schema, "percent_off", "amount_off", "currency", "duration_in_periods")
    schema["examples"] = [
        {"name": "20% for 3 periods", "percent_off": 20, "duration": "repeating", "duration_in_periods": 3}
    ]
    schema["oneOf"] = [
        {"required": ["percent_off"], "not": {"anyOf": [{"required": ["amount_off"]}, {"required": ["currency"]}]}},
        {"required": ["amount_off", "currency"], "not": {"required": ["percent_off"]}},
    ]
    schema["allOf"] = [
        {
            "if": {"properties": {"duration": {"const": "repeating"}}, "required": ["duration"]},
            "then": {"required": ["duration_in_periods"]},
            "else": {"not": {"required": ["duration_in_periods"]}},
        }
    ]


class CouponCreate(Body):
    model_config = ConfigDict(json_schema_extra=_coupon_schema)

    id: Id | None = Field(None, description="Your id for the coupon (generated if absent)")
    name: Annotated[str, StringConstraints(max_length=256)] | None = None
    percent_off: percentage(0.01, 100, 2, "0 < p <= 100, up to 2 decimals") = None  # type: ignore[valid-type]
    amount_off: whole_number(1, MAX_AMOUNT, "Minor units of currency") = None  # type: ignore[valid-type]
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] = Field(  # type: ignore[assignment]
        None, description="ISO 4217, upper case: an amount_off coupon applies only to plans in it"
    )
    duration: Duration
    duration_in_periods: whole_number(1, 1200, "Billing periods a repeating coupon lasts") = None  # type: ignore[valid-type]
    max_redemptions: whole_number(1, 10**9) | None = None  # type: ignore[valid-type]
    redeem_by: datetime | None = Field(None, description="No redemption from this moment on")
    applies_to: AppliesTo | None = None

    @model_validator(mode="after")
    def _consistent(self) -> CouponCreate:
        if (self.percent_off is None) == (self.amount_off is None):
            raise ValueError("give exactly one of percent_off and amount_off")
        if (self.amount_off is None) != (self.currency is None):
            raise ValueError("an amount_off needs its currency (and only an amount_off takes one)")
        if (self.duration == Duration.REPEATING) != (self.duration_in_periods is not None):
            raise ValueError("duration_in_periods is required for, and only for, a repeating coupon")
        return self


class Coupon(Resource):
    id: str
    object: Literal["coupon"] = "coupon"
    name: str | None
    percent_off: float | None
    amount_off: int | None
    currency: str | None
    duration: Duration
    duration_in_periods: int | None
    max_redemptions: int | None
    times_redeemed: int
    redeem_by: datetime | None
    applies_to_plans: list[str] | None
    valid: bool = Field(description="false once deleted: no new redemptions, running discounts continue")
    created_at: datetime


class PromotionCodeCreate(Body):
    model_config = ConfigDict(json_schema_extra={"examples": [{"coupon": "co_summer", "code": "SUMMER20"}]})

    coupon: Id
    code: Code = Field(description="What customers type; unique per tenant regardless of case")
    active: bool = True
    max_redemptions: whole_number(1, 10**9) | None = None  # type: ignore[valid-type]
    expires_at: datetime | None = None
    first_time_transaction: bool = Field(False, description="Only for customers without an invoice yet")


class PromotionCodeUpdate(Body):
    model_config = ConfigDict(json_schema_extra={"examples": [{"active": False}]})

    active: bool


class PromotionCodeListQuery(ListQuery):
    code: Code | None = None
    active: bool | None = None


class PromotionCode(Resource):
    id: str
    object: Literal["promotion_code"] = "promotion_code"
    coupon: str = Field(validation_alias=AliasChoices("coupon_id", "coupon"))
    code: str
    active: bool
    max_redemptions: int | None
    times_redeemed: int
    expires_at: datetime | None
    first_time_transaction: bool
    created_at: datetime


def _discount_schema(schema: dict) -> None:
    _absent_means_none(schema, "coupon", "promotion_code")
    schema["examples"] = [{"coupon": "co_summer"}]
    schema["oneOf"] = [
        {"required": ["coupon"], "not": {"required": ["promotion_code"]}},
        {"required": ["promotion_code"], "not": {"required": ["coupon"]}},
    ]


class DiscountCreate(Body):
    model_config = ConfigDict(json_schema_extra=_discount_schema)

    coupon: Id = None  # type: ignore[assignment]
    promotion_code: Id = Field(None, description="A promotion code's id (its coupon is applied)")  # type: ignore[assignment]

    @model_validator(mode="after")
    def _one(self) -> DiscountCreate:
        if (self.coupon is None) == (self.promotion_code is None):
            raise ValueError("give exactly one of coupon and promotion_code")
        return self


class Discount(Resource):
    id: str
    object: Literal["discount"] = "discount"
    subscription: str = Field(validation_alias=AliasChoices("subscription_id", "subscription"))
    customer: str = Field(validation_alias=AliasChoices("customer_id", "customer"))
    coupon: str = Field(validation_alias=AliasChoices("coupon_id", "coupon"))
    promotion_code: str | None = Field(validation_alias=AliasChoices("promotion_code_id", "promotion_code"))
    periods_left: int | None = Field(description="Billing periods it still discounts (null: forever)")
    created_at: datetime
    ended_at: datetime | None
