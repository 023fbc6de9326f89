from shared.runtime.call import Call
from shared.runtime.registry import operation
from shared.schemas.plans import Plan, PlanUpdate
from shared.services import plans


@operation(
    "PATCH",
    "/v1/plans/{id}",
    family="plans",
    summary="Update a plan's name or default tax rates (its price and cadence never change)",
    body=PlanUpdate,
    response=Plan,
)
async def update_plan(call: Call):
    body: PlanUpdate = call.body
    return await plans.update_plan(
        call.uow(),
        call.tenant_id,
        call.path("id"),
        call.clock,
        name=body.name,
        default_tax_rates=body.default_tax_rates,
    )
