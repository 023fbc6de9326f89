from shared.runtime.call import Call
from shared.runtime.registry import operation
from shared.schemas.subscriptions import ChangePlan, Subscription
from shared.services import lifecycle


@operation(
    "POST",
    "/v1/subscriptions/{id}/change_plan",
    family="subscriptions",
    summary="Switch to another plan in the same currency, with proration",
    body=ChangePlan,
    response=Subscription,
)
async def change_subscription_plan(call: Call):
    body: ChangePlan = call.body
    return await lifecycle.change_plan(
        call.uow(), call.tenant_id, call.path("id"), call.clock, plan_id=body.plan_id, proration=body.proration
    )
