from shared.runtime.call import Call
from shared.runtime.registry import operation
from shared.schemas.plans import Plan
from shared.services import plans


@operation("GET", "/v1/plans/{id}", family="plans", summary="Retrieve a plan", response=Plan)
async def get_plan(call: Call):
    return await plans.get_plan(call.uow(), call.tenant_id, call.path("id"))
