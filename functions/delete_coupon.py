from shared.runtime.call import Call
from shared.runtime.registry import operation
from shared.schemas.coupons import Coupon
from shared.services import coupons


@operation(
    "DELETE",
    "/v1/coupons/{id}",
    family="coupons",
    summary="Delete a coupon: no new redemptions; running discounts keep running",
    response=Coupon,
)
async def delete_coupon(call: Call):
    return await coupons.delete_coupon(call.uow(), call.tenant_id, call.path("id"), call.clock)
