"""Shared shapes of the v1 JSON API: strict request bodies, lax query strings, lists."""

from __future__ import annotations

from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from shared.domain import money
from shared.domain.money import MAX_AMOUNT


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    return False


class Body(BaseModel):
    """A request body: unknown fields and wrong JSON types are errors, never coerced."""

    model_config = ConfigDict(extra="forbid", strict=True)

    @model_validator(mode="after")
    def _no_nul_characters(self) -> Any:
        # PostgreSQL text cannot hold U+0000: refuse it here, as a 422, not deep in the driver.
        for name, value in self:
            if _has_nul(value):
                raise ValueError(f"'{name}' contains a NUL (U+0000) character")
        return self


class Query(BaseModel):
    """Query-string parameters arrive as text, so they are parsed (lax), but unknown ones are errors."""

    model_config = ConfigDict(extra="forbid")


class Resource(BaseModel):
    """A response object, read from a database row."""

    model_config = ConfigDict(from_attributes=True)


def _integral(value: Any) -> Any:
    """JSON Schema's `integer` admits 39.0 (a number with a zero fraction), so the API does too,
    as exactly 39. 19.99 stays a float and is refused; so is any float too large to be exact."""
    if isinstance(value, float) and value.is_integer() and abs(value) <= 2**53:
        return int(value)
    return value


def whole_number(ge: int, le: int | None = None, description: str | None = None) -> Any:
    """An integer field that takes 39.0 as 39. The bounds sit before the validator so that the
    JSON Schema shows them as minimum/maximum."""
    return Annotated[int, Field(ge=ge, le=le, description=description), BeforeValidator(_integral)]


ID_PATTERN = r"^[a-z]+_[0-9a-z]{1,60}$"
# Realistic placeholders for the examples of bodies that name an existing object: Swagger's
# "Try it out" prefills them, and the caller swaps in an id their own calls returned.
EXAMPLE_CUSTOMER_ID = "cus_06h180x99813x6rg577m620tv4"
EXAMPLE_PLAN_ID = "plan_06h180x99813x6rg577m620tv8"
Id = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=ID_PATTERN)]
# What pydantic's strip_whitespace removes (Unicode White_Space), as a JSON Schema class.
_WS = r"\t\n\u000b\u000c\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=256),
    # Surrounding whitespace is stripped, then 1-256 characters must remain: the documented
    # form says exactly that (a plain maxLength would count the stripped whitespace too).
    WithJsonSchema(
        {
            "type": "string",
            "minLength": 1,
            "pattern": f"^[{_WS}]*[^{_WS}](?:[\\s\\S]{{0,254}}[^{_WS}])?[{_WS}]*$",
            "description": "1-256 characters once surrounding whitespace is removed (it is)",
        }
    ),
]
Amount = whole_number(0, MAX_AMOUNT, "Integer amount in the currency's minor unit")
MetadataKey = Annotated[str, StringConstraints(min_length=1, max_length=40)]
MetadataValue = Annotated[str, StringConstraints(max_length=500)]
Metadata = Annotated[
    dict[MetadataKey, MetadataValue],
    Field(max_length=50, description="Up to 50 string key/value pairs for your own use"),
]


def _any_case(code: str) -> str:
    return "".join(f"[{c.upper()}{c.lower()}]" for c in code)


# The documented form of the rule below: exactly the active ISO 4217 codes, in any case
# (JSON Schema patterns have no case-insensitive flag, hence [Uu][Ss][Dd]).
_CURRENCY_PATTERN = "^(" + "|".join(_any_case(code) for code in sorted(money.CURRENCY_EXPONENTS)) + ")$"


class CurrencyField(BaseModel):
    currency: str = Field(
        min_length=3,
        max_length=3,
        description="ISO 4217 code; any case in, upper-case out",
        examples=["USD"],
        json_schema_extra={"pattern": _CURRENCY_PATTERN},
    )

    @field_validator("currency")
    @classmethod
    def _iso4217(cls, value: str) -> str:
        code = value.upper()
        if not money.is_currency(code):
            raise ValueError(f"'{value}' is not an active ISO 4217 currency code")
        return code


class ListQuery(Query):
    limit: int = Field(10, ge=1, le=100, description="Page size (1-100)")
    starting_after: Id | None = Field(None, description="Cursor: the last id of the previous page")


T = TypeVar("T")


class ListOf(BaseModel, Generic[T]):
    object: Literal["list"] = "list"
    data: list[T]
    has_more: bool
