from shared.runtime.call import Call
from shared.runtime.registry import operation
from shared.schemas.subscriptions import CancelSubscription, Subscription
from shared.services import lifecycle


@operation(
    "POST",
    "/v1/subscriptions/{id}/cancel",
    family="subscriptions",
    summary="Cancel now, or at the end of the current period",
    body=CancelSubscription,
    response=Subscription,
)
async def cancel_subscription(call: Call):
    body: CancelSubscription = call.body
    return await lifecycle.cancel(
        call.uow(), call.tenant_id, call.path("id"), call.clock, at_period_end=body.at_period_end
    )
