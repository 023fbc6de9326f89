from shared.runtime.call import Call
from shared.runtime.registry import operation
from shared.schemas.plans import Plan, PlanCreate
from shared.services import plans


@operation("POST", "/v1/plans", family="plans", summary="Create a plan (its price never changes)",
           body=PlanCreate, response=Plan, status=201)
async def create_plan(call: Call):
    return await plans.create_plan(call.uow(), call.tenant_id, call.body, call.clock)
