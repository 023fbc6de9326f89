from shared.runtime.call import Call
from shared.runtime.registry import operation
from shared.schemas.common import ListOf
from shared.schemas.invoices import Invoice, InvoiceListQuery
from shared.services import invoices


@operation("GET", "/v1/invoices", family="invoices", summary="List invoices, newest first",
           query=InvoiceListQuery, response=ListOf[Invoice])
async def list_invoices(call: Call):
    return await invoices.list_invoices(call.uow(), call.tenant_id, call.query)
