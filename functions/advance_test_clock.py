from shared.runtime.call import Call
from shared.runtime.keys import ADVANCES
from shared.runtime.registry import operation
from shared.schemas.test_clocks import TestClock, TestClockAdvance
from shared.services import test_clocks


@operation("POST", "/v1/test_clocks/{id}/advance", family="test-clocks",
           summary="Move a test clock forward; its customers are billed up to the new time in the background "
                   "(status advancing, then ready)",
           body=TestClockAdvance, response=TestClock)
async def advance_test_clock(call: Call):
    advanced = await test_clocks.advance_test_clock(call.uow(), call.tenant_id, call.path("id"), call.body)
    if ADVANCES in call.request.app:  # this process's worker starts on it at once
        call.request.app[ADVANCES].wake()
    return advanced
