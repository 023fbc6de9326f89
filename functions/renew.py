from datetime import timedelta

from shared.domain.errors import Invalid
from shared.runtime.call import Call
from shared.runtime.cloudevents import event_time
from shared.runtime.keys import SETTINGS
from shared.runtime.registry import operation
from shared.schemas.renewals import RenewalRun
from shared.services import renewals
from shared.timestamps import BadTimestamp, check_as_of


@operation("POST", "/cloudevents/renew", family="renewals", signature="cloudevent", auth=False, public=False,
           summary="CloudEvent trigger (Knative PingSource): renew every tenant's due subscriptions as of the event time",
           response=RenewalRun)
async def renew(call: Call):
    as_of = event_time(call.body)
    if as_of is not None:
        max_age = timedelta(hours=call.request.app[SETTINGS].renew_max_age_hours)
        try:
            check_as_of(as_of, call.clock.now(), max_age)
        except BadTimestamp as error:
            raise Invalid(f"CloudEvent time: {error}", field="time") from None
    return await renewals.renew_all(call.engine, call.clock, as_of)
