"""A renewal run's report, and the tenant's billing terms (TenantSettings)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.schemas.common import Body, whole_number
from shared.schemas.tax_rates import TaxRateIds


class RenewalRun(BaseModel):
    object: Literal["renewal_run"] = "renewal_run"
    as_of: datetime
    renewed: int = Field(description="subscriptions that entered at least one new period")
    invoices_created: int
    ended: int = Field(description="subscriptions canceled in this run (pending cancel or dunning)")
    past_due: int = Field(description="subscriptions that became past_due")
    failed: int = Field(
        description="subscriptions skipped because their invoices could not be written (left as they were)"
    )
    failed_subscriptions: list[str] = Field(description="ids of the skipped subscriptions (at most 100)")
    duration_seconds: float


class TenantSettings(BaseModel):
    object: Literal["settings"] = "settings"
    days_until_due: int
    grace_period_days: int
    default_tax_rates: list[str]


class SettingsUpdate(Body):
    model_config = ConfigDict(json_schema_extra={"examples": [{"days_until_due": 14, "grace_period_days": 7}]})

    days_until_due: whole_number(0, 365) | None = Field(  # type: ignore[valid-type]
        None, description="Days from an invoice's date to its due date"
    )
    grace_period_days: whole_number(0, 365) | None = Field(  # type: ignore[valid-type]
        None, description="Days past due after which an unpaid subscription is canceled"
    )
    default_tax_rates: TaxRateIds | None = None
