from shared.runtime.call import Call
from shared.runtime.registry import operation
from shared.schemas.invoices import UpcomingInvoice
from shared.services import subscriptions


@operation("GET", "/v1/subscriptions/{id}/upcoming_invoice", family="subscriptions",
           summary="Preview the next renewal invoice (writes nothing)", response=UpcomingInvoice)
async def get_upcoming_invoice(call: Call):
    return await subscriptions.upcoming_invoice(call.uow(), call.tenant_id, call.path("id"))
