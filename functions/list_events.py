from shared.runtime.call import Call
from shared.runtime.registry import operation
from shared.schemas.common import ListOf
from shared.schemas.events import Event, EventListQuery
from shared.services import events


@operation(
    "GET",
    "/v1/events",
    family="events",
    summary="List events, newest first (filter by type with * wildcards, created[gte|lt], object_id)",
    query=EventListQuery,
    response=ListOf[Event],
)
async def list_events(call: Call):
    query: EventListQuery = call.query
    return await events.list_events(
        call.uow(),
        call.tenant_id,
        limit=query.limit,
        starting_after=query.starting_after,
        type_pattern=query.type,
        created_gte=query.created_gte,
        created_lt=query.created_lt,
        object_id=query.object_id,
    )
