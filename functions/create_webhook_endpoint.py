from shared.runtime.app_state import SETTINGS
from shared.runtime.call import Call
from shared.runtime.registry import operation
from shared.schemas.webhooks import WebhookEndpointCreate, WebhookEndpointWithSecret
from shared.services import webhooks


@operation(
    "POST",
    "/v1/webhook_endpoints",
    family="webhooks",
    summary="Register a webhook endpoint: its signing secret is returned once",
    body=WebhookEndpointCreate,
    response=WebhookEndpointWithSecret,
    status=201,
)
async def create_webhook_endpoint(call: Call):
    body: WebhookEndpointCreate = call.body
    return await webhooks.create_endpoint(
        call.uow(),
        call.tenant_id,
        call.clock,
        url=body.url,
        enabled_events=body.enabled_events,
        description=body.description,
        allow_private=call.request.app[SETTINGS].webhook_allow_private,
    )
