from shared.db import hot_reads
from shared.runtime.call import Call, Rendered
from shared.runtime.registry import operation
from shared.schemas.subscriptions import Subscription


@operation(
    "GET",
    "/v1/subscriptions/{id}",
    family="subscriptions",
    summary="Retrieve a subscription",
    response=Subscription,
    driver_only=True,
)
async def get_subscription(call: Call):
    return Rendered(await hot_reads.subscription(call.reads, call.tenant_id, call.path("id")))
