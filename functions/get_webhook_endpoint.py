from shared.runtime.call import Call
from shared.runtime.registry import operation
from shared.schemas.webhooks import WebhookEndpoint
from shared.services import webhooks


@operation(
    "GET",
    "/v1/webhook_endpoints/{id}",
    family="webhooks",
    summary="Retrieve a webhook endpoint",
    response=WebhookEndpoint,
)
async def get_webhook_endpoint(call: Call):
    return await webhooks.get_endpoint(call.uow(), call.tenant_id, call.path("id"))
