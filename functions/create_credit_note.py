from shared.runtime.call import Call
from shared.runtime.registry import operation
from shared.schemas.credit_notes import CreditNote, CreditNoteCreate
from shared.services import credit_notes


@operation(
    "POST",
    "/v1/credit_notes",
    family="credit-notes",
    summary="Credit an open invoice (less due) or a paid one (credit to the balance, refund, out of band)",
    body=CreditNoteCreate,
    response=CreditNote,
    status=201,
)
async def create_credit_note(call: Call):
    body: CreditNoteCreate = call.body
    return await credit_notes.create_credit_note(
        call.uow(), call.tenant_id, call.clock, body.invoice, body.request(), reason=body.reason, memo=body.memo
    )
