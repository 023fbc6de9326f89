"""API key requests and responses (the secret appears once, on creation)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, ConfigDict, Field

from shared.schemas.common import Body, Name, Resource


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("expires_at needs a timezone (e.g. 2026-12-31T00:00:00Z)")
    if not (2000 <= value.year <= 9000):
        raise ValueError("expires_at must be between the years 2000 and 9000")
    return value.astimezone(UTC)


class ApiKeyCreate(Body):
    model_config = ConfigDict(json_schema_extra={"examples": [{"name": "Reporting dashboard", "scope": "read"}]})

    name: Name
    scope: Literal["read", "write"] = Field("write", description="'read' may only read (GET); 'write' may do anything")
    expires_at: Annotated[datetime, AfterValidator(_utc)] | None = Field(
        None, description="RFC 3339 timestamp with a timezone, in the future; unset: never expires"
    )


class ApiKey(Resource):
    """A key as listed: its prefix identifies it, its secret is never shown again."""

    id: str
    object: Literal["api_key"] = "api_key"
    name: str | None
    prefix: str = Field(description="The first characters of the secret, to recognise it")
    scope: Literal["read", "write"]
    bootstrap: bool = Field(description="Made from BILLING_BOOTSTRAP_API_KEY (revoked when that setting changes)")
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


class CreatedApiKey(ApiKey):
    secret: str = Field(description="The key itself, shown this once: send it as 'Authorization: Bearer <secret>'")
