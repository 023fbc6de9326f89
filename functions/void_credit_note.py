from shared.runtime.call import Call
from shared.runtime.registry import operation
from shared.schemas.credit_notes import CreditNote
from shared.services import credit_notes


@operation(
    "POST",
    "/v1/credit_notes/{id}/void",
    family="credit-notes",
    summary="Void a credit note: restore the invoice's amount due, take its credit back from the balance",
    response=CreditNote,
)
async def void_credit_note(call: Call):
    return await credit_notes.void_credit_note(call.uow(), call.tenant_id, call.path("id"), call.clock)
