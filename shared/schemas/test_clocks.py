"""Test clock requests and responses: simulated time moves forward only."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, ConfigDict, Field

from shared.schemas.common import Body, Resource


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("frozen_time needs a timezone (e.g. 2026-01-31T00:00:00Z)")
    if not (2000 <= value.year <= 2200):
        raise ValueError("frozen_time must be between the years 2000 and 2200")
    return value.astimezone(UTC)


FrozenTime = Annotated[datetime, AfterValidator(_utc), Field(description="RFC 3339 timestamp with a timezone")]


class TestClockCreate(Body):
    __test__ = False  # not a pytest test class, despite the name
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"frozen_time": "2026-01-01T00:00:00Z", "name": "January renewals"},
            ]
        }
    )
    frozen_time: FrozenTime
    name: str | None = Field(None, max_length=256)


class TestClockAdvance(Body):
    __test__ = False
    # One month after TestClockCreate's example: a clock only moves forward.
    model_config = ConfigDict(json_schema_extra={"examples": [{"frozen_time": "2026-02-01T00:00:00Z"}]})
    frozen_time: FrozenTime


class TestClock(Resource):
    __test__ = False
    id: str
    object: Literal["test_clock"] = "test_clock"
    name: str | None
    frozen_time: datetime
    # `advancing` while the renewal of its customers catches up with `frozen_time` (already
    # the target); `ready` once it has.
    status: Literal["ready", "advancing"]
    created_at: datetime


class DeletedTestClock(Resource):
    """What DELETE answers (Stripe's shape): the clock and its simulated data are gone."""

    __test__ = False
    id: str
    object: Literal["test_clock"] = "test_clock"
    deleted: Literal[True] = True
