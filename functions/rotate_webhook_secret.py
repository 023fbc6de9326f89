from shared.runtime.call import Call
from shared.runtime.registry import operation
from shared.schemas.webhooks import WebhookEndpointWithSecret
from shared.services import webhooks


@operation(
    "POST",
    "/v1/webhook_endpoints/{id}/rotate_secret",
    family="webhooks",
    summary="Rotate the signing secret: the old one keeps signing alongside the new one for 24 hours",
    response=WebhookEndpointWithSecret,
)
async def rotate_webhook_secret(call: Call):
    return await webhooks.rotate_secret(call.uow(), call.tenant_id, call.path("id"), call.clock)
