from shared.runtime.call import Call
from shared.runtime.registry import operation
from shared.schemas.common import ListOf
from shared.schemas.plans import Plan, PlanListQuery
from shared.services import plans


@operation(
    "GET", "/v1/plans", family="plans", summary="List plans, newest first", query=PlanListQuery, response=ListOf[Plan]
)
async def list_plans(call: Call):
    query: PlanListQuery = call.query
    return await plans.list_plans(
        call.uow(), call.tenant_id, limit=query.limit, starting_after=query.starting_after, active=query.active
    )
