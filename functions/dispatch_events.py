import time

from shared.events.dispatcher import Dispatcher
from shared.runtime.app_state import SETTINGS
from shared.runtime.call import Call
from shared.runtime.registry import operation
from shared.schemas.dispatch import DispatchRun

RUN_SECONDS = 45  # of the minute between pings


@operation(
    "POST",
    "/cloudevents/dispatch",
    family="events",
    signature="cloudevent",
    auth=False,
    public=False,
    summary="CloudEvent trigger (Knative PingSource): deliver due webhooks and CloudEvents, prune old events",
    response=DispatchRun,
)
async def dispatch_events(call: Call):
    settings = call.request.app[SETTINGS]
    dispatcher = Dispatcher(
        call.engine,
        allow_private=settings.webhook_allow_private,
        batch=settings.dispatch_batch,
        k_sink=settings.k_sink,
        retention_days=settings.event_retention_days,
        lease_seconds=settings.dispatch_lease_seconds,
    )
    try:
        done = await dispatcher.drain(deadline=time.monotonic() + RUN_SECONDS)
        pruned = await dispatcher.prune()
    finally:
        await dispatcher.close()
    return {
        "claimed": done.claimed,
        "delivered": done.delivered,
        "failed": done.failed,
        "sink_sent": done.sink_sent,
        "pruned": pruned,
    }
