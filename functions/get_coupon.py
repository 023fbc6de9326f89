from shared.runtime.call import Call
from shared.runtime.registry import operation
from shared.schemas.coupons import Coupon
from shared.services import coupons


@operation("GET", "/v1/coupons/{id}", family="coupons", summary="Retrieve a coupon", response=Coupon)
async def get_coupon(call: Call):
    return await coupons.get_coupon(call.uow(), call.tenant_id, call.path("id"))
