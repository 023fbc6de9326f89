from shared.runtime.call import Call
from shared.runtime.registry import operation
from shared.schemas.subscriptions import Subscription
from shared.services import lifecycle


@operation(
    "POST",
    "/v1/subscriptions/{id}/resume",
    family="subscriptions",
    summary="Resume a paused subscription: a new period starts now, with its invoice",
    response=Subscription,
)
async def resume_subscription(call: Call):
    return await lifecycle.resume(call.uow(), call.tenant_id, call.path("id"), call.clock)
