from shared.renewal.clock_advances import resume_advances
from shared.runtime.call import Call
from shared.runtime.cloudevents import event_time
from shared.runtime.keys import SETTINGS
from shared.runtime.registry import operation
from shared.schemas.renewals import RenewalRun
from shared.services import renewals

RESUME_SECONDS = 15  # of the minute between pings, for test-clock advances nobody holds


@operation("POST", "/cloudevents/renew", family="renewals", signature="cloudevent", auth=False, public=False,
           summary="CloudEvent trigger (Knative PingSource): renew every tenant's due subscriptions as of the event time",
           response=RenewalRun)
async def renew(call: Call):
    report = await renewals.renew_all(call.engine, call.clock, event_time(call.body))
    # Then resume test-clock advances whose worker is gone (e.g. its pod scaled to zero).
    settings = call.request.app[SETTINGS]
    await resume_advances(call.engine, lease_seconds=settings.clock_lease_seconds,
                          invoice_budget=settings.renewal_invoice_budget, seconds=RESUME_SECONDS)
    return report
