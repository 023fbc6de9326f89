from shared.runtime.call import Call
from shared.runtime.registry import operation
from shared.schemas.coupons import PromotionCode
from shared.services import coupons


@operation(
    "GET", "/v1/promotion_codes/{id}", family="coupons", summary="Retrieve a promotion code", response=PromotionCode
)
async def get_promotion_code(call: Call):
    return await coupons.get_promotion_code(call.uow(), call.tenant_id, call.path("id"))
