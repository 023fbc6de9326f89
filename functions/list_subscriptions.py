from shared.runtime.call import Call
from shared.runtime.registry import operation
from shared.schemas.common import ListOf
from shared.schemas.subscriptions import Subscription, SubscriptionListQuery
from shared.services import subscriptions


@operation(
    "GET",
    "/v1/subscriptions",
    family="subscriptions",
    summary="List subscriptions, newest first",
    query=SubscriptionListQuery,
    response=ListOf[Subscription],
)
async def list_subscriptions(call: Call):
    query: SubscriptionListQuery = call.query
    return await subscriptions.list_subscriptions(
        call.uow(),
        call.tenant_id,
        limit=query.limit,
        starting_after=query.starting_after,
        customer_id=query.customer_id,
        status=query.status,
    )
