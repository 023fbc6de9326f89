from shared.runtime.call import Call
from shared.runtime.registry import operation
from shared.schemas.plans import Plan
from shared.services import plans


@operation(
    "POST",
    "/v1/plans/{id}/archive",
    family="plans",
    summary="Archive a plan: no new subscriptions, existing ones keep billing",
    response=Plan,
)
async def archive_plan(call: Call):
    return await plans.archive_plan(call.uow(), call.tenant_id, call.path("id"), call.clock)
