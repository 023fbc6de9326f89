from shared.runtime.call import Call
from shared.runtime.registry import operation
from shared.schemas.test_clocks import DeletedTestClock
from shared.services import test_clocks


@operation(
    "DELETE",
    "/v1/test_clocks/{id}",
    family="test-clocks",
    summary="Delete a test clock with its customers and all their simulated data (409 while advancing)",
    response=DeletedTestClock,
)
async def delete_test_clock(call: Call):
    await test_clocks.delete_test_clock(call.uow(), call.tenant_id, call.path("id"))
    return DeletedTestClock(id=call.path("id"))
