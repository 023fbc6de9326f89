"""Usage events in, per-event results out, and usage read back."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal, NotRequired

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)
from typing_extensions import TypedDict

from shared.schemas.common import Body, Query
from shared.timestamps import BadTimestamp, parse_rfc3339

MAX_BATCH = 1000


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("a timestamp needs an offset (e.g. 2026-01-31T10:00:00Z)")
    return value.astimezone(UTC)


def _rfc3339(value: object) -> datetime:
    """A query's date-time: exactly RFC 3339 (no Unix seconds, no date alone)."""
    try:
        return parse_rfc3339(str(value))
    except BadTimestamp as error:
        raise ValueError(str(error)) from None


Moment = Annotated[datetime, AfterValidator(_utc), Field(description="RFC 3339 with an offset")]
QueryMoment = Annotated[datetime, BeforeValidator(_rfc3339)]
EventId = Annotated[str, StringConstraints(min_length=1, max_length=255)]
Reference = Annotated[str, StringConstraints(min_length=1, max_length=255)]
PropertyKey = Annotated[str, StringConstraints(min_length=1, max_length=100)]
# Finite numbers only: JSON has no NaN or Infinity (PostgreSQL's jsonb would refuse them).
PropertyValue = (
    Annotated[str, StringConstraints(max_length=500)] | int | Annotated[float, Field(allow_inf_nan=False)] | bool | None
)


class UsageEventIn(Body):
    id: EventId = Field(description="Your idempotency key for this event, unique per tenant")
    customer: Reference = Field(description="The customer's id or external_id")
    meter: Reference = Field(description="The meter's code")
    timestamp: Moment
    properties: dict[PropertyKey, PropertyValue] = Field(default_factory=dict, max_length=50)

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "id": "evt-0001",
                    "customer": "cus_06h180x99813x6rg577m620tv4",
                    "meter": "api-calls",
                    "timestamp": "2026-01-31T10:00:00Z",
                    "properties": {"endpoint": "/search"},
                }
            ]
        }
    }


class UsageBatchEvent(TypedDict):
    """One event of a batch: the fields of UsageEventIn, validated the same way, as a plain
    dict (no model instance per event: a batch of 1,000 is validated in pydantic's core)."""

    __pydantic_config__ = ConfigDict(extra="forbid", strict=True)  # type: ignore[misc]

    id: Annotated[EventId, Field(description="Your idempotency key for this event, unique per tenant")]
    customer: Annotated[Reference, Field(description="The customer's id or external_id")]
    meter: Annotated[Reference, Field(description="The meter's code")]
    timestamp: Annotated[AwareDatetime, Field(description="RFC 3339 with an offset")]
    properties: NotRequired[Annotated[dict[PropertyKey, PropertyValue], Field(max_length=50)]]


def _event_has_nul(event: UsageBatchEvent) -> bool:
    if "\x00" in event["id"] or "\x00" in event["customer"] or "\x00" in event["meter"]:
        return True
    return any(
        "\x00" in key or (type(value) is str and "\x00" in value) for key, value in event.get("properties", {}).items()
    )


class UsageBatchIn(Body):
    events: list[UsageBatchEvent] = Field(min_length=1, max_length=MAX_BATCH)

    @model_validator(mode="after")
    def _no_nul_characters(self) -> Any:
        # Body's rule (no U+0000 anywhere), for the batch's known shape: a walk of each event's strings.
        if any(_event_has_nul(event) for event in self.events):
            raise ValueError("'events' contains a NUL (U+0000) character")
        return self

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "events": [
                        {
                            "id": "evt-0002",
                            "customer": "cus_06h180x99813x6rg577m620tv4",
                            "meter": "api-calls",
                            "timestamp": "2026-01-31T10:00:00Z",
                            "properties": {"endpoint": "/search"},
                        }
                    ]
                }
            ]
        }
    }


class UsageResult(BaseModel):
    id: str
    status: Literal["accepted", "duplicate", "conflict", "rejected"]
    reason: str | None = None


class UsageBatchResult(BaseModel):
    object: Literal["usage_event_batch"] = "usage_event_batch"
    results: list[UsageResult]


class UsageQuery(Query):
    meter: Reference | None = Field(None, description="A meter code: only this meter")
    from_: QueryMoment | None = Field(
        None, alias="from", description="RFC 3339: events at or after (default: the current billing period's start)"
    )
    to: QueryMoment | None = Field(None, description="RFC 3339: events before (default: the customer's now)")


class MeterUsage(BaseModel):
    meter: str
    aggregation: str
    quantity: str = Field(description="A decimal string (exact)")
    events: int


class CustomerUsage(BaseModel):
    object: Literal["usage"] = "usage"
    customer: str
    period_start: datetime
    period_end: datetime
    data: list[MeterUsage]


class UsageCloudEventData(Body):
    """The data of a usage CloudEvent: its id is ce-id, its time ce-time (default: now)."""

    customer: Reference = Field(description="The customer's id or external_id")
    meter: Reference = Field(description="The meter's code")
    properties: dict[PropertyKey, PropertyValue] = Field(default_factory=dict, max_length=50)
