from shared.runtime.call import Call
from shared.runtime.registry import operation
from shared.schemas.renewals import SettingsUpdate, TenantSettings
from shared.services import tenants


@operation(
    "PATCH",
    "/v1/settings",
    family="settings",
    summary="Set days_until_due, the dunning grace period and the default tax rates",
    body=SettingsUpdate,
    response=TenantSettings,
)
async def update_settings(call: Call):
    body: SettingsUpdate = call.body
    return await tenants.update_settings(
        call.uow(),
        call.tenant_id,
        days_until_due=body.days_until_due,
        grace_period_days=body.grace_period_days,
        default_tax_rates=body.default_tax_rates,
    )
