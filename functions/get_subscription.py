from shared.runtime.call import Call
from shared.runtime.registry import operation
from shared.schemas.subscriptions import Subscription
from shared.services import subscriptions


@operation(
    "GET", "/v1/subscriptions/{id}", family="subscriptions", summary="Retrieve a subscription", response=Subscription
)
async def get_subscription(call: Call):
    return await subscriptions.get_subscription(call.uow(), call.tenant_id, call.path("id"))
