from shared.runtime.call import Call
from shared.runtime.registry import operation
from shared.schemas.plans import Plan, PlanCreate
from shared.services import plans


@operation(
    "POST",
    "/v1/plans",
    family="plans",
    summary="Create a plan (its price never changes)",
    body=PlanCreate,
    response=Plan,
    status=201,
)
async def create_plan(call: Call):
    body: PlanCreate = call.body
    return await plans.create_plan(
        call.uow(),
        call.tenant_id,
        call.clock,
        code=body.code,
        name=body.name,
        amount=body.amount,
        currency=body.currency,
        interval=body.interval,
        interval_count=body.interval_count,
        trial_period_days=body.trial_period_days,
        usage_charges=[c.model_dump(exclude_none=True) for c in body.usage_charges],
        default_tax_rates=body.default_tax_rates,
    )
