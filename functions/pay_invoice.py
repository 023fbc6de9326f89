from shared.runtime.call import Call
from shared.runtime.registry import operation
from shared.schemas.invoices import Invoice
from shared.services import invoices


@operation(
    "POST",
    "/v1/invoices/{id}/pay",
    family="invoices",
    summary="Mark an open or uncollectible invoice paid in full",
    response=Invoice,
)
async def pay_invoice(call: Call):
    return await invoices.pay_invoice(call.uow(), call.tenant_id, call.path("id"), call.clock)
