from shared.runtime.call import Call
from shared.runtime.registry import operation
from shared.schemas.common import ListOf
from shared.schemas.credit_notes import CreditNote, CreditNoteListQuery
from shared.services import credit_notes


@operation(
    "GET",
    "/v1/credit_notes",
    family="credit-notes",
    summary="List credit notes, newest first (of an invoice or a customer)",
    query=CreditNoteListQuery,
    response=ListOf[CreditNote],
)
async def list_credit_notes(call: Call):
    query: CreditNoteListQuery = call.query
    return await credit_notes.list_credit_notes(
        call.uow(),
        call.tenant_id,
        limit=query.limit,
        starting_after=query.starting_after,
        invoice_id=query.invoice,
        customer_id=query.customer,
    )
