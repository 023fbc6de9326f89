from shared.runtime.call import Call
from shared.runtime.registry import operation
from shared.schemas.credit_notes import CreditNote
from shared.services import credit_notes


@operation(
    "GET",
    "/v1/credit_notes/{id}",
    family="credit-notes",
    summary="Retrieve a credit note with its lines",
    response=CreditNote,
)
async def get_credit_note(call: Call):
    return await credit_notes.get_credit_note(call.uow(), call.tenant_id, call.path("id"))
