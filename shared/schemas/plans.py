from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from shared.domain.periods import MAX_INTERVAL_COUNT, Interval
from shared.schemas.common import Amount, Body, CurrencyField, ListQuery, Name, Resource

IntervalName = Literal["day", "week", "month", "year"]
Code = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]


class PlanCreate(Body, CurrencyField):
    code: Code = Field(description="Your unique identifier for the plan, e.g. 'pro-monthly'")
    name: Name
    amount: Amount
    interval: IntervalName
    interval_count: int = Field(1, ge=1, description="Bill every interval_count intervals (at most 3 years)")
    trial_period_days: int = Field(0, ge=0, le=730)

    @model_validator(mode="after")
    def _at_most_three_years(self) -> PlanCreate:
        limit = MAX_INTERVAL_COUNT[Interval(self.interval)]
        if self.interval_count > limit:
            raise ValueError(f"interval_count for interval '{self.interval}' must be at most {limit} (3 years)")
        return self


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
    active: bool
    archived_at: datetime | None
    created_at: datetime
