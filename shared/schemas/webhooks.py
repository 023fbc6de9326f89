"""Webhook endpoints, their deliveries, and replays: requests and responses."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field, StringConstraints, WithJsonSchema

from shared.domain.events import EVENT_TYPES, WILDCARD_PATTERN, known_or_wildcard
from shared.events.targets import URL_PATTERN
from shared.schemas.common import Body, Resource


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("a timestamp needs a timezone (e.g. 2026-01-31T00:00:00Z)")
    return value.astimezone(UTC)


def _text(value: Any) -> Any:
    """Only RFC 3339 text: no Unix numbers (a query string would otherwise pass 0.5 as a time)."""
    if not isinstance(value, str) or not re.match(r"^\d{4}-\d{2}-\d{2}", value):
        raise ValueError("expected an RFC 3339 timestamp such as 2026-01-31T00:00:00Z")
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("expected an RFC 3339 timestamp such as 2026-01-31T00:00:00Z") from None


Timestamp = Annotated[
    datetime,
    BeforeValidator(_text),
    AfterValidator(_utc),
    Field(description="RFC 3339 timestamp with a timezone"),
    WithJsonSchema({"type": "string", "format": "date-time", "description": "RFC 3339 timestamp with a timezone"}),
]
# An event type, or a pattern of them where '*' stands for any run of characters: "invoice.*", "*".
EventPattern = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z_.*]+$"),
    AfterValidator(known_or_wildcard),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "enum": list(EVENT_TYPES)},
                {"type": "string", "minLength": 1, "maxLength": 64, "pattern": WILDCARD_PATTERN},
            ],
            "description": "An event type, or a pattern where '*' stands for any run of characters",
        }
    ),
]
Url = Annotated[
    str,
    StringConstraints(min_length=1, max_length=2048),
    # Enforced by the service (shared.events.targets), which BILLING_WEBHOOK_ALLOW_PRIVATE relaxes.
    WithJsonSchema({"type": "string", "minLength": 1, "maxLength": 2048, "pattern": URL_PATTERN}),
]
Description = Annotated[str, StringConstraints(max_length=512)]


class WebhookEndpointCreate(Body):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"url": "https://example.com/billing/webhooks", "enabled_events": ["invoice.*", "subscription.*"]}
            ]
        }
    )

    url: Url = Field(description="https; its host may not resolve to a loopback, private or link-local address")
    enabled_events: list[EventPattern] = Field(min_length=1, max_length=64, description='Types or patterns; ["*"]: all')
    description: Description | None = None


class WebhookEndpointUpdate(Body):
    model_config = ConfigDict(json_schema_extra={"examples": [{"enabled_events": ["*"], "disabled": False}]})

    url: Url | None = None
    enabled_events: list[EventPattern] | None = Field(None, min_length=1, max_length=64)
    description: Description | None = None
    disabled: bool | None = Field(None, description="true disables the endpoint; false enables it again")


class WebhookEndpoint(Resource):
    id: str
    object: Literal["webhook_endpoint"] = "webhook_endpoint"
    url: str
    enabled_events: list[str]
    description: str | None
    status: Literal["enabled", "disabled"]
    disabled_reason: str | None
    created_at: datetime
    updated_at: datetime


class WebhookEndpointWithSecret(WebhookEndpoint):
    """Returned on create and on rotate_secret only: the signing secret is shown once."""

    secret: str = Field(description="whsec_<base64>: verify signatures with it (Standard Webhooks)")


class WebhookDelivery(Resource):
    id: str
    object: Literal["webhook_delivery"] = "webhook_delivery"
    endpoint_id: str
    event_id: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    next_attempt_at: datetime | None = Field(description="When the next attempt is due (pending only)")
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_duration_ms: int | None
    last_response_body: str | None = Field(description="The first 2 KiB of the last response")
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


class Replay(Body):
    """Deliver again every event of a time range (by the events' `created`) that the endpoint
    subscribes to."""

    model_config = ConfigDict(
        populate_by_name=False,
        json_schema_extra={
            "examples": [{"created[gte]": "2026-01-01T00:00:00Z", "created[lt]": "2026-02-01T00:00:00Z"}]
        },
    )

    created_gte: Timestamp = Field(alias="created[gte]")
    created_lt: Timestamp = Field(alias="created[lt]")


class ReplayResult(Resource):
    object: Literal["replay"] = "replay"
    endpoint_id: str
    deliveries_created: int


class DeletedWebhookEndpoint(Resource):
    id: str
    object: Literal["webhook_endpoint"] = "webhook_endpoint"
    deleted: Literal[True] = True
