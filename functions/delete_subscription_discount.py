from shared.runtime.call import Call
from shared.runtime.registry import operation
from shared.schemas.coupons import Discount
from shared.services import coupons


@operation(
    "DELETE",
    "/v1/subscriptions/{id}/discount",
    family="subscriptions",
    summary="Remove the subscription's discount from its next invoices",
    response=Discount,
)
async def delete_subscription_discount(call: Call):
    return await coupons.remove_discount(call.uow(), call.tenant_id, call.path("id"), call.clock)
