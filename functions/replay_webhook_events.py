from shared.runtime.call import Call
from shared.runtime.registry import operation
from shared.schemas.webhooks import Replay, ReplayResult
from shared.services import webhooks


@operation(
    "POST",
    "/v1/webhook_endpoints/{id}/replay",
    family="webhooks",
    summary="Deliver again every subscribed event created in a time range (at most 10,000 per call)",
    body=Replay,
    response=ReplayResult,
)
async def replay_webhook_events(call: Call):
    body: Replay = call.body
    endpoint_id = call.path("id")
    count = await webhooks.replay(
        call.uow(), call.tenant_id, endpoint_id, created_gte=body.created_gte, created_lt=body.created_lt
    )
    return {"endpoint_id": endpoint_id, "deliveries_created": count}
