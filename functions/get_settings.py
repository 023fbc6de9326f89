from shared.runtime.call import Call
from shared.runtime.registry import operation
from shared.schemas.renewals import TenantSettings
from shared.services import tenants


@operation("GET", "/v1/settings", family="settings", summary="This tenant's billing terms", response=TenantSettings)
async def get_settings(call: Call):
    return await tenants.get_settings(call.uow(), call.tenant_id)
