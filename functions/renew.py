from datetime import timedelta

from shared.domain.errors import Invalid
from shared.renewal.clock_advances import resume_advances
from shared.runtime.app_state import SETTINGS
from shared.runtime.call import Call
from shared.runtime.cloudevents import event_time
from shared.runtime.registry import operation
from shared.schemas.renewals import RenewalRun
from shared.services import renewals
from shared.timestamps import BadTimestamp, check_as_of

RESUME_SECONDS = 15  # of the minute between pings, for test-clock advances nobody holds


@operation(
    "POST",
    "/cloudevents/renew",
    family="renewals",
    signature="cloudevent",
    auth=False,
    public=False,
    summary="CloudEvent trigger (Knative PingSource): renew every tenant's due subscriptions as of the event time",
    response=RenewalRun,
)
async def renew(call: Call):
    as_of = event_time(call.body)
    settings = call.request.app[SETTINGS]
    if as_of is not None:
        try:
            check_as_of(as_of, call.clock.now(), timedelta(hours=settings.renew_max_age_hours))
        except BadTimestamp as error:
            raise Invalid(f"CloudEvent time: {error}", field="time") from None
    report = await renewals.renew_all(call.engine, call.clock, as_of)
    # Then resume test-clock advances whose worker is gone (e.g. its pod scaled to zero).
    await resume_advances(
        call.engine,
        lease_seconds=settings.clock_lease_seconds,
        invoice_budget=settings.renewal_invoice_budget,
        seconds=RESUME_SECONDS,
    )
    return report
