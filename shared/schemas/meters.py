"""Meter requests and responses."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, model_validator

from shared.schemas.common import Body, ListQuery, Name, Resource
from shared.schemas.plans import Code

AggregationName = Literal["count", "sum", "max", "unique_count", "latest"]
PropertyName = Annotated[str, StringConstraints(min_length=1, max_length=100)]
FilterValue = Annotated[str, StringConstraints(max_length=500)] | int | bool


def _meter_schema(schema: dict[str, Any]) -> None:
    """An example, and the rule _value_property enforces: every aggregation but count measures
    a property, so it needs a value_property."""
    schema["examples"] = [{"code": "api-calls", "name": "API calls", "aggregation": "count"}]
    schema["allOf"] = [
        {
            "if": {"properties": {"aggregation": {"not": {"const": "count"}}}, "required": ["aggregation"]},
            "then": {"required": ["value_property"], "properties": {"value_property": {"type": "string"}}},
        }
    ]


class MeterCreate(Body):
    code: Code = Field(description="Unique per tenant: usage events name their meter by it, e.g. 'api-calls'")
    name: Name
    aggregation: AggregationName = Field(description="How a period's events add up; never changes")
    value_property: PropertyName | None = Field(
        None,
        description="The key of the events' properties that is measured (required except for count, which ignores it)",
    )
    filters: dict[PropertyName, FilterValue] = Field(
        default_factory=dict, max_length=20, description="Only events whose properties equal all of these count"
    )

    model_config = {"json_schema_extra": _meter_schema}

    @model_validator(mode="after")
    def _value_property(self) -> MeterCreate:
        if self.aggregation != "count" and self.value_property is None:
            raise ValueError(f"value_property is required for aggregation '{self.aggregation}'")
        return self


class MeterListQuery(ListQuery):
    active: bool | None = None


class Meter(Resource):
    id: str
    object: Literal["meter"] = "meter"
    code: str
    name: str
    aggregation: AggregationName
    value_property: str | None
    filters: dict[str, Any]
    active: bool
    archived_at: datetime | None
    created_at: datetime
