from shared.runtime.call import Call
from shared.runtime.registry import operation
from shared.schemas.common import ListOf
from shared.schemas.subscriptions import Subscription, SubscriptionListQuery
from shared.services import subscriptions


@operation("GET", "/v1/subscriptions", family="subscriptions", summary="List subscriptions, newest first",
           query=SubscriptionListQuery, response=ListOf[Subscription])
async def list_subscriptions(call: Call):
    return await subscriptions.list_subscriptions(call.uow(), call.tenant_id, call.query)
