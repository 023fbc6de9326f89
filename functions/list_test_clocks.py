from shared.runtime.call import Call
from shared.runtime.registry import operation
from shared.schemas.common import ListOf, ListQuery
from shared.schemas.test_clocks import TestClock
from shared.services import test_clocks


@operation(
    "GET",
    "/v1/test_clocks",
    family="test-clocks",
    summary="List test clocks, newest first",
    query=ListQuery,
    response=ListOf[TestClock],
)
async def list_test_clocks(call: Call):
    return await test_clocks.list_test_clocks(
        call.uow(), call.tenant_id, limit=call.query.limit, starting_after=call.query.starting_after
    )
