from shared.runtime.call import Call
from shared.runtime.registry import operation
from shared.schemas.invoices import Invoice
from shared.services import invoices


@operation(
    "GET", "/v1/invoices/{id}", family="invoices", summary="Retrieve an invoice with its lines", response=Invoice
)
async def get_invoice(call: Call):
    return await invoices.get_invoice(call.uow(), call.tenant_id, call.path("id"))
