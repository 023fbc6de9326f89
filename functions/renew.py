from shared.runtime.call import Call
from shared.runtime.cloudevents import event_time
from shared.runtime.registry import operation
from shared.schemas.renewals import RenewalRun
from shared.services import renewals


@operation("POST", "/cloudevents/renew", family="renewals", signature="cloudevent", auth=False, public=False,
           summary="CloudEvent trigger (Knative PingSource): renew every tenant's due subscriptions as of the event time",
           response=RenewalRun)
async def renew(call: Call):
    return await renewals.renew_all(call.engine, call.clock, event_time(call.body))
