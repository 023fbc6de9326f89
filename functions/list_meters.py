from shared.runtime.call import Call
from shared.runtime.registry import operation
from shared.schemas.common import ListOf
from shared.schemas.meters import Meter, MeterListQuery
from shared.services import meters


@operation(
    "GET",
    "/v1/meters",
    family="meters",
    summary="List meters, newest first",
    query=MeterListQuery,
    response=ListOf[Meter],
)
async def list_meters(call: Call):
    query: MeterListQuery = call.query
    return await meters.list_meters(
        call.uow(), call.tenant_id, limit=query.limit, starting_after=query.starting_after, active=query.active
    )
