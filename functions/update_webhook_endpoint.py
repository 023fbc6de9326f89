from shared.runtime.app_state import SETTINGS
from shared.runtime.call import Call
from shared.runtime.registry import operation
from shared.schemas.webhooks import WebhookEndpoint, WebhookEndpointUpdate
from shared.services import webhooks


@operation(
    "PATCH",
    "/v1/webhook_endpoints/{id}",
    family="webhooks",
    summary="Update a webhook endpoint (url, enabled_events, description, disabled)",
    body=WebhookEndpointUpdate,
    response=WebhookEndpoint,
)
async def update_webhook_endpoint(call: Call):
    body: WebhookEndpointUpdate = call.body
    return await webhooks.update_endpoint(
        call.uow(),
        call.tenant_id,
        call.path("id"),
        call.clock,
        url=body.url,
        enabled_events=body.enabled_events,
        description=body.description,
        disabled=body.disabled,
        allow_private=call.request.app[SETTINGS].webhook_allow_private,
    )
