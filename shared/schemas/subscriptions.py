from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from shared.domain.subscriptions import SubscriptionStatus
from shared.schemas.common import Body, Id, ListQuery, Resource


class SubscriptionCreate(Body):
    customer_id: Id
    plan_id: Id
    trial_period_days: int | None = Field(
        None, ge=0, le=730, description="Overrides the plan's trial; 0 starts billing at once"
    )


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
    cancel_at_period_end: bool
    canceled_at: datetime | None
    ended_at: datetime | None
    created_at: datetime
