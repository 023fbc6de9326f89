from shared.runtime.call import Call
from shared.runtime.registry import operation
from shared.schemas.common import ListOf, ListQuery
from shared.schemas.webhooks import WebhookDelivery
from shared.services import webhooks


@operation(
    "GET",
    "/v1/webhook_endpoints/{id}/deliveries",
    family="webhooks",
    summary="The endpoint's delivery log, newest first (status, attempts, last response, next retry)",
    query=ListQuery,
    response=ListOf[WebhookDelivery],
)
async def list_webhook_deliveries(call: Call):
    return await webhooks.list_deliveries(
        call.uow(), call.tenant_id, call.path("id"), limit=call.query.limit, starting_after=call.query.starting_after
    )
