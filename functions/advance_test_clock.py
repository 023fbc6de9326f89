from shared.runtime.app_state import ADVANCES
from shared.runtime.call import Call
from shared.runtime.registry import operation
from shared.schemas.test_clocks import TestClock, TestClockAdvance
from shared.services import test_clocks


@operation(
    "POST",
    "/v1/test_clocks/{id}/advance",
    family="test-clocks",
    summary="Move a test clock forward; its customers are billed up to the new time in the background "
    "(status advancing, then ready)",
    body=TestClockAdvance,
    response=TestClock,
)
async def advance_test_clock(call: Call):
    worker = call.request.app.get(ADVANCES)  # this process's worker starts on it at once
    body: TestClockAdvance = call.body
    return await test_clocks.advance_test_clock(
        call.uow(),
        call.tenant_id,
        call.path("id"),
        frozen_time=body.frozen_time,
        on_accepted=worker.wake if worker else None,
    )
