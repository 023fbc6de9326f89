from shared.runtime.call import Call
from shared.runtime.registry import operation
from shared.schemas.subscriptions import Subscription
from shared.services import lifecycle


@operation(
    "POST",
    "/v1/subscriptions/{id}/resume_cancel",
    family="subscriptions",
    summary="Undo a pending cancel at period end",
    response=Subscription,
)
async def resume_cancel_subscription(call: Call):
    return await lifecycle.resume_cancel(call.uow(), call.tenant_id, call.path("id"), call.clock)
