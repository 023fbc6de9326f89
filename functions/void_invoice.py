from shared.runtime.call import Call
from shared.runtime.registry import operation
from shared.schemas.invoices import Invoice
from shared.services import invoices


@operation("POST", "/v1/invoices/{id}/void", family="invoices", summary="Void an invoice (final)", response=Invoice)
async def void_invoice(call: Call):
    return await invoices.void_invoice(call.uow(), call.tenant_id, call.path("id"), call.clock)
