from shared.runtime.call import Call
from shared.runtime.registry import operation
from shared.schemas.events import Event
from shared.services import events


@operation("GET", "/v1/events/{id}", family="events", summary="Retrieve an event", response=Event)
async def get_event(call: Call):
    return await events.get_event(call.uow(), call.tenant_id, call.path("id"))
