from shared.runtime.call import Call
from shared.runtime.registry import operation
from shared.schemas.webhooks import DeletedWebhookEndpoint
from shared.services import webhooks


@operation(
    "DELETE",
    "/v1/webhook_endpoints/{id}",
    family="webhooks",
    summary="Delete a webhook endpoint and its delivery log",
    response=DeletedWebhookEndpoint,
)
async def delete_webhook_endpoint(call: Call):
    return {"id": await webhooks.delete_endpoint(call.uow(), call.tenant_id, call.path("id"))}
