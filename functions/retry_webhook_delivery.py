from shared.runtime.call import Call
from shared.runtime.registry import operation
from shared.schemas.webhooks import WebhookDelivery
from shared.services import webhooks


@operation(
    "POST",
    "/v1/webhook_endpoints/{id}/deliveries/{delivery_id}/retry",
    family="webhooks",
    summary="Attempt a delivery again now",
    response=WebhookDelivery,
)
async def retry_webhook_delivery(call: Call):
    return await webhooks.retry_delivery(
        call.uow(), call.tenant_id, call.path("id"), call.path("delivery_id"), call.clock
    )
