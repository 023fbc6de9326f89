from shared.runtime.call import Call
from shared.runtime.registry import operation
from shared.schemas.subscriptions import Subscription
from shared.services import lifecycle


@operation(
    "POST",
    "/v1/subscriptions/{id}/pause",
    family="subscriptions",
    summary="Pause: no invoices until resumed",
    response=Subscription,
)
async def pause_subscription(call: Call):
    return await lifecycle.pause(call.uow(), call.tenant_id, call.path("id"), call.clock)
