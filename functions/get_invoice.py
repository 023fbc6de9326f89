from shared.db import hot_reads
from shared.runtime.call import Call, Rendered
from shared.runtime.registry import operation
from shared.schemas.invoices import Invoice


@operation(
    "GET",
    "/v1/invoices/{id}",
    family="invoices",
    summary="Retrieve an invoice with its lines",
    response=Invoice,
    driver_only=True,
)
async def get_invoice(call: Call):
    return Rendered(await hot_reads.invoice(call.reads, call.tenant_id, call.path("id")))
