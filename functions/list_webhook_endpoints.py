from shared.runtime.call import Call
from shared.runtime.registry import operation
from shared.schemas.common import ListOf, ListQuery
from shared.schemas.webhooks import WebhookEndpoint
from shared.services import webhooks


@operation(
    "GET",
    "/v1/webhook_endpoints",
    family="webhooks",
    summary="List webhook endpoints, newest first",
    query=ListQuery,
    response=ListOf[WebhookEndpoint],
)
async def list_webhook_endpoints(call: Call):
    return await webhooks.list_endpoints(
        call.uow(), call.tenant_id, limit=call.query.limit, starting_after=call.query.starting_after
    )
