from shared.runtime.call import Call
from shared.runtime.registry import operation
from shared.schemas.renewals import RenewalRun
from shared.services import renewals


@operation(
    "POST",
    "/v1/renewals",
    family="renewals",
    summary="Renew this tenant's due subscriptions now (the scheduled run does every tenant)",
    response=RenewalRun,
)
async def create_renewal(call: Call):
    return await renewals.renew_tenant(call.engine, call.tenant_id, call.clock)
