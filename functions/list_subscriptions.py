from shared.db import hot_reads
from shared.runtime.call import Call, Rendered
from shared.runtime.registry import operation
from shared.schemas.common import ListOf
from shared.schemas.subscriptions import Subscription, SubscriptionListQuery


@operation(
    "GET",
    "/v1/subscriptions",
    family="subscriptions",
    summary="List subscriptions, newest first",
    query=SubscriptionListQuery,
    response=ListOf[Subscription],
    driver_only=True,
)
async def list_subscriptions(call: Call):
    query: SubscriptionListQuery = call.query
    page = await hot_reads.page(
        call.reads,
        "subscriptions",
        call.tenant_id,
        limit=query.limit,
        starting_after=query.starting_after,
        customer_id=query.customer_id,
        status=query.status,
    )
    return Rendered(page)
